/*
 * device.h - the ledtogo device: pixels, config, session, stale/identify timers, stats and the
 * command dispatcher, behind a small hardware interface (Hal) so host tests can drive it with a
 * fake clock and capture replies and shown frames.
 *
 * Plain C++14, no Arduino includes. The .ino implements Hal with Serial, the WS2812 driver
 * and the EEPROM; the tests implement it with buffers.
 */
#ifndef LEDTOGO_DEVICE_H
#define LEDTOGO_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "protocol.h"

namespace ledtogo {

// What the device needs from the board. Every call may block (the device is single-threaded).
class Hal {
 public:
  // Sends bytes to the host (UART).
  virtual void send(const uint8_t* data, size_t len) = 0;
  // Pushes one frame to the strip: len bytes already in wire order (LED_COLOR_ORDER), already
  // scaled by the brightness cap and power limit. Returns after the latch time.
  virtual void show(const uint8_t* wire, size_t len) = 0;
  // Persistent storage. Return false when the bytes could not be read / written and verified.
  virtual bool storageRead(uint16_t addr, uint8_t* buf, uint16_t len) = 0;
  virtual bool storageWrite(uint16_t addr, const uint8_t* buf, uint16_t len) = 0;
  // 32 bits of entropy, used once for the device id on first boot.
  virtual uint32_t entropy() = 0;

 protected:
  ~Hal() {}
};

struct Config {
  uint16_t led_count;
  uint8_t brightness;
  uint16_t power_limit_ma;
  uint8_t stale_after_s;
};

// The versioned record kept in EEPROM at address 0 (byte layout in device.cpp).
const uint16_t kStorageAddr = 0;
const uint8_t kStorageLen = 16;
const uint8_t kStorageVersion = 1;

class Device {
 public:
  static const uint16_t kHeartbeatMs = 1000;    // "Ada\n" period while no session
  static const uint16_t kRenderHoldMs = 20;     // no animation show() this soon after a byte
  static const uint16_t kStagedHoldMs = 250;    // uncommitted SET_PIXELS/FILL hold animations
  static const uint16_t kIdentifyHalfMs = 250;  // identify: 250 ms white, 250 ms black
  static const uint16_t kStalePeriodMs = 4000;  // stale breathing period
  static const uint8_t kStaleMinA = 8;
  static const uint8_t kStaleMaxA = 48;

  explicit Device(Hal& hal);

  // Boot: loads (or on first boot creates) the EEPROM record, shows black, sends "Ada\n" and
  // the BOOT event. reset_cause is the captured MCUSR.
  void begin(uint32_t now_ms, uint8_t reset_cause);
  // One byte from the UART. Complete requests are executed at once: show()/EEPROM work
  // first, then the reply.
  void receive(uint8_t byte, uint32_t now_ms);
  // Timers: heartbeat, stale/off, identify and the stale animation. rx_pending tells whether
  // received bytes are still waiting to be fed (no animation show() then).
  void poll(uint32_t now_ms, bool rx_pending);

  // ---- observers (tests, diagnostics) ----
  proto::LinkState state() const { return state_; }
  bool sessionActive() const { return session_; }
  bool watchdogArmed() const { return armed_; }
  bool identifying() const { return identify_; }
  const Config& config() const { return cfg_; }
  const proto::Stats& stats() const { return stats_; }
  uint32_t deviceId() const { return device_id_; }
  uint8_t resetCause() const { return reset_cause_; }
  const uint8_t* pixels() const { return pixels_; }  // RGB, LED_MAX * 3
  uint16_t showUs() const;
  // Stale pattern amber level A for a time t_ms since the device went stale (8..48..8, 4 s).
  static uint8_t staleLevel(uint32_t t_ms);
  // Scales an RGB frame in place by the brightness cap and the power budget (as at show time).
  static void limitFrame(uint8_t* rgb, uint16_t leds, uint8_t brightness, uint16_t power_limit_ma);
  // Estimated strip current in mA for an RGB frame (the power model used by limitFrame).
  static uint32_t estimateMa(const uint8_t* rgb, uint16_t leds);

 private:
  enum Look : uint8_t { LOOK_FRAME, LOOK_STALE, LOOK_OFF, LOOK_IDENTIFY_ON, LOOK_IDENTIFY_DARK };

  void handleRequest(const proto::Frame& f, uint32_t now_ms);
  void validFrame(uint32_t now_ms);
  void goStale(uint32_t now_ms);
  void reply(const proto::Frame& f, uint8_t status, const uint8_t* data = nullptr, uint8_t n = 0);
  void sendHeartbeat(uint32_t now_ms);
  void render(uint32_t now_ms);
  Look currentLook(uint32_t now_ms, uint8_t* level) const;
  uint8_t applyConfig(uint8_t key, uint32_t value, uint32_t* applied);
  void loadStorage();
  bool saveStorage();
  void updateAdaTarget();

  Hal& hal_;
  proto::Parser parser_;
  Config cfg_;
  proto::Stats stats_;
  proto::LinkState state_;
  uint32_t device_id_;
  uint8_t reset_cause_;
  bool session_;
  bool armed_;            // stale watchdog running (a valid frame arrived, not BYE(1)/BYE(2))
  bool identify_;
  bool staged_;           // SET_PIXELS/FILL applied without commit
  bool dirty_;            // the look changed by a timer: render when allowed
  uint32_t last_valid_ms_;
  uint32_t last_rx_ms_;
  uint32_t last_hb_ms_;
  uint32_t stale_since_ms_;
  uint32_t identify_start_ms_;
  uint32_t identify_ms_;
  uint32_t staged_ms_;
  uint16_t shown_key_;    // look + level of the last show(), to animate only on change
  uint16_t pushed_count_;  // LEDs written by the last show() (a shrunk strip gets black tails)
  uint8_t pixels_[LED_MAX * 3];  // the host's frame, RGB
  uint8_t wire_[LED_MAX * 3];    // what show() pushes: scaled, wire order
};

}  // namespace ledtogo

#endif  // LEDTOGO_DEVICE_H
