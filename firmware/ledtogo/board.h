/*
 * board.h - every board setting of the ledtogo firmware, in one block.
 *
 * Change values here and nowhere else. This header has no Arduino includes so the
 * host unit tests (firmware/test) build the shared code with exactly these values.
 */
#ifndef LEDTOGO_BOARD_H
#define LEDTOGO_BOARD_H

/* ======================= board settings (edit this block) ======================= */
#define LED_DATA_PIN 6            /* Arduino pin wired to the strip's DIN (D6 = PD6 on the Uno) */
#define LED_COUNT 16              /* LEDs driven after boot; runtime: SET_CONFIG key 1 */
#define LED_MAX 150               /* capacity of this build: 6 bytes of RAM per LED */
#define LED_COLOR_ORDER 2         /* wire order of the LEDs: 0 RGB, 1 RBG, 2 GRB, 3 GBR, 4 BRG, 5 BGR */
#define DEFAULT_BRIGHTNESS 255    /* brightness cap 0-255 (the host already applies brightness/gamma) */
#define POWER_LIMIT_MA 450        /* strip current budget; USB gives 500 mA, the Uno keeps ~50 mA */
#define POWER_LIMIT_MIN_MA 100    /* SET_CONFIG key 3 is clamped to MIN..MAX */
#define POWER_LIMIT_MAX_MA 10000
#define LED_MA_PER_CHANNEL 20     /* estimated mA of one colour channel at 255 (60 mA full white) */
#define LED_IDLE_MA 1             /* estimated mA of one dark LED */
#define STALE_AFTER_S 5           /* no valid frame for this long -> stale pattern (1..10) */
#define STALE_AFTER_MAX_S 10
#define OFF_AFTER_STALE_S 1800    /* stale for 30 minutes -> all black */
#define SERIAL_BAUD 115200
#define FW_VERSION_MAJOR 1
#define FW_VERSION_MINOR 0
#define FW_VERSION_PATCH 0
/* ================================================================================= */

#if LED_COUNT < 1 || LED_COUNT > LED_MAX
#error "LED_COUNT must be 1..LED_MAX"
#endif
#if LED_MAX > 600
#error "LED_MAX too large for the Uno's 2 KB of RAM"
#endif
#if LED_COLOR_ORDER < 0 || LED_COLOR_ORDER > 5
#error "LED_COLOR_ORDER must be 0..5"
#endif
#if STALE_AFTER_S < 1 || STALE_AFTER_S > STALE_AFTER_MAX_S
#error "STALE_AFTER_S must be 1..10"
#endif

#endif /* LEDTOGO_BOARD_H */
