/*
 * ledtogo.ino - Arduino glue of the ledtogo firmware (Uno + WS2812 strip on USB serial).
 *
 * Everything interesting lives in device.cpp / protocol.cpp (plain C++, unit-tested on the
 * host) and ws2812.cpp; board settings are in board.h. This file only connects Serial, the
 * strip driver, the EEPROM, an entropy source and the hardware watchdog to the Device.
 */
#include <avr/eeprom.h>
#include <avr/wdt.h>

#include "board.h"
#include "device.h"
#include "ws2812.h"

// Reset cause: MCUSR, read before anything else (.init3) and cleared so the watchdog stays
// off. Optiboot >= 5 clears MCUSR itself and leaves the flags in r2; older ones leave nothing.
uint8_t g_reset_cause __attribute__((section(".noinit")));
void captureResetCause() __attribute__((naked, used, section(".init3")));
void captureResetCause() {
  uint8_t from_bootloader;
  asm volatile("mov %0, r2" : "=r"(from_bootloader));
  uint8_t mcusr = MCUSR;
  MCUSR = 0;
  wdt_disable();
  if (mcusr == 0 && from_bootloader <= 0x0F) mcusr = from_bootloader;
  g_reset_cause = mcusr;
}

class UnoHal : public ledtogo::Hal {
 public:
  void send(const uint8_t* data, size_t len) override { Serial.write(data, len); }
  void show(const uint8_t* wire, size_t len) override { ws2812Show(wire, static_cast<uint16_t>(len)); }
  bool storageRead(uint16_t addr, uint8_t* buf, uint16_t len) override {
    eeprom_read_block(buf, reinterpret_cast<const void*>(addr), len);
    return true;
  }
  bool storageWrite(uint16_t addr, const uint8_t* buf, uint16_t len) override {
    eeprom_update_block(buf, reinterpret_cast<void*>(addr), len);  // ~3.4 ms per changed byte
    for (uint16_t i = 0; i < len; i++) {
      if (eeprom_read_byte(reinterpret_cast<const uint8_t*>(addr + i)) != buf[i]) return false;
    }
    return true;
  }
  uint32_t entropy() override {
    // First boot only: ADC noise of the (usually floating) analog pins and timer jitter.
    uint32_t h = 2166136261ul;
    for (uint8_t i = 0; i < 48; i++) {
      h = (h ^ static_cast<uint16_t>(analogRead(i % 6))) * 16777619ul;
      h = (h ^ micros()) * 16777619ul;
    }
    return h;
  }
};

static UnoHal hal;
static ledtogo::Device device(hal);

void setup() {
  wdt_disable();
  Serial.begin(SERIAL_BAUD);
  ws2812Begin();
  device.begin(millis(), g_reset_cause);
  wdt_enable(WDTO_2S);  // longer than any show() or EEPROM save
}

void loop() {
  wdt_reset();
  int pending = Serial.available();
  while (pending-- > 0) device.receive(static_cast<uint8_t>(Serial.read()), millis());
  device.poll(millis(), Serial.available() > 0);
}
