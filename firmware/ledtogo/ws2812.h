/*
 * ws2812.h - minimal WS2812/WS2812B driver for a 16 MHz AVR (Arduino Uno): cycle-counted
 * inline assembly, interrupts off only while the bits are pushed, then a 300 us latch.
 * The data pin is LED_DATA_PIN from board.h. AVR-only (the host tests use a fake instead).
 */
#ifndef LEDTOGO_WS2812_H
#define LEDTOGO_WS2812_H

#include <stdint.h>

// Makes the data pin an output, driven low.
void ws2812Begin();
// Pushes len bytes (already in the strip's wire order, e.g. GRB) MSB first, then keeps the
// line low for the latch time, so the next call can never merge with this frame.
void ws2812Show(const uint8_t* data, uint16_t len);

#endif
