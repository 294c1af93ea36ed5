/*
 * ws2812.cpp - WS2812 bit-banging for a 16 MHz AVR. One bit = 20 cycles (1.25 us): the line
 * rises at cycle 0, falls at cycle 6 for a 0 (T0H 375 ns) or at cycle 12 for a 1
 * (T1H 750 ns). Between bytes the line stays low 5 cycles longer (loading the next byte).
 * Interrupts are disabled only for the push (30 us per LED), SREG is restored afterwards.
 */
#ifdef __AVR__

#include "ws2812.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/delay.h>

#include "board.h"

#if F_CPU != 16000000UL
#error "ws2812.cpp is cycle-counted for 16 MHz"
#endif

// Arduino Uno pin number -> AVR port and bit.
#if LED_DATA_PIN >= 0 && LED_DATA_PIN <= 7
#define WS_PORT PORTD
#define WS_DDR DDRD
#define WS_BIT (LED_DATA_PIN)
#elif LED_DATA_PIN >= 8 && LED_DATA_PIN <= 13
#define WS_PORT PORTB
#define WS_DDR DDRB
#define WS_BIT (LED_DATA_PIN - 8)
#elif LED_DATA_PIN >= 14 && LED_DATA_PIN <= 19
#define WS_PORT PORTC
#define WS_DDR DDRC
#define WS_BIT (LED_DATA_PIN - 14)
#else
#error "LED_DATA_PIN must be an Uno pin 0..19"
#endif

static const uint16_t kLatchUs = 300;  // WS2812B needs >= 280 us low to latch

void ws2812Begin() {
  WS_PORT &= static_cast<uint8_t>(~_BV(WS_BIT));
  WS_DDR |= _BV(WS_BIT);
}

void ws2812Show(const uint8_t* data, uint16_t len) {
  if (len == 0) return;
  const uint8_t sreg = SREG;
  cli();
  const uint8_t hi = WS_PORT | _BV(WS_BIT);
  const uint8_t lo = WS_PORT & static_cast<uint8_t>(~_BV(WS_BIT));
  uint8_t byte, bits, next;
  // Cycle numbers relative to the rising edge of the current bit.
  asm volatile(
      "ld   %[byte], %a[ptr]+ \n\t"
      "ldi  %[bits], 8        \n\t"
      "1:                     \n\t"
      "out  %[port], %[hi]    \n\t"  // 0: rise
      "mov  %[next], %[lo]    \n\t"  // 1
      "sbrc %[byte], 7        \n\t"  // 2 (2 cycles when skipping)
      "mov  %[next], %[hi]    \n\t"  // 3
      "nop                    \n\t"  // 4
      "nop                    \n\t"  // 5
      "out  %[port], %[next]  \n\t"  // 6: fall for a 0 bit
      "nop                    \n\t"  // 7
      "nop                    \n\t"  // 8
      "nop                    \n\t"  // 9
      "nop                    \n\t"  // 10
      "nop                    \n\t"  // 11
      "out  %[port], %[lo]    \n\t"  // 12: fall for a 1 bit
      "lsl  %[byte]           \n\t"  // 13
      "dec  %[bits]           \n\t"  // 14
      "breq 2f                \n\t"  // 15 (2 cycles when taken)
      "nop                    \n\t"  // 16
      "nop                    \n\t"  // 17
      "rjmp 1b                \n\t"  // 18-19 -> next rise at 20
      "2:                     \n\t"  // 17
      "sbiw %[count], 1       \n\t"  // 17-18
      "breq 3f                \n\t"  // 19
      "ld   %[byte], %a[ptr]+ \n\t"  // 20-21
      "ldi  %[bits], 8        \n\t"  // 22
      "rjmp 1b                \n\t"  // 23-24 -> next rise at 25
      "3:                     \n\t"
      : [byte] "=&r"(byte), [bits] "=&d"(bits), [next] "=&r"(next), [ptr] "+e"(data), [count] "+w"(len)
      : [port] "I"(_SFR_IO_ADDR(WS_PORT)), [hi] "r"(hi), [lo] "r"(lo)
      : "memory");
  SREG = sreg;
  _delay_us(kLatchUs);
}

#endif  // __AVR__
