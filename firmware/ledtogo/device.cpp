/*
 * device.cpp - the ledtogo device state machine: dispatches protocol v1 requests, keeps the
 * pixels, config, session and stats, runs the stale watchdog, identify blink and stale
 * animation, applies the brightness cap and power limit at show time and keeps the
 * versioned EEPROM record. Plain C++14, no Arduino includes.
 */
#include "device.h"

namespace ledtogo {

using namespace proto;

namespace {

// wire[j] = rgb[kOrder[LED_COLOR_ORDER][j]]
const uint8_t kOrder[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

const char kHelloLine[] = "Ada\n";

// EEPROM record layout (kStorageLen bytes, big-endian like the wire):
// 0 'L', 1 'T', 2 version, 3 length, 4..7 device_id, 8..9 led_count, 10 brightness,
// 11..12 power_limit_ma, 13 stale_after_s, 14..15 CRC-16/IBM-3740 over bytes 0..13.
const uint8_t kStorageMagic0 = 'L';
const uint8_t kStorageMagic1 = 'T';

uint32_t clampU32(uint32_t v, uint32_t lo, uint32_t hi) {
  if (v < lo) return lo;
  if (v > hi) return hi;
  return v;
}

bool elapsed(uint32_t now, uint32_t since, uint32_t ms) {
  return static_cast<uint32_t>(now - since) >= ms;
}

}  // namespace

Device::Device(Hal& hal)
    : hal_(hal),
      state_(STATE_OFF),
      device_id_(0),
      reset_cause_(0),
      session_(false),
      armed_(false),
      identify_(false),
      staged_(false),
      last_valid_ms_(0),
      last_rx_ms_(0),
      last_hb_ms_(0),
      stale_since_ms_(0),
      identify_start_ms_(0),
      identify_ms_(0),
      staged_ms_(0),
      shown_key_(0xFFFF),
      pushed_count_(0) {
  cfg_.led_count = LED_COUNT;
  cfg_.brightness = DEFAULT_BRIGHTNESS;
  cfg_.power_limit_ma = POWER_LIMIT_MA;
  cfg_.stale_after_s = STALE_AFTER_S;
  stats_.rx_ok = stats_.crc_err = stats_.hdr_err = stats_.len_err = stats_.stale_events = 0;
  for (uint16_t i = 0; i < LED_MAX * 3; i++) pixels_[i] = wire_[i] = 0;
}

// ---------------------------------------------------------------- boot

void Device::begin(uint32_t now_ms, uint8_t reset_cause) {
  reset_cause_ = reset_cause;
  loadStorage();
  updateAdaTarget();
  // Black first (a reset leaves the strip showing the old frame), so the host's first request,
  // sent after it sees the hello, cannot arrive during this show().
  render(now_ms);
  hal_.send(reinterpret_cast<const uint8_t*>(kHelloLine), 4);
  uint8_t payload[6];
  payload[0] = ST_OK;
  encodeBoot(reset_cause_, FW_VERSION_MAJOR, FW_VERSION_MINOR, FW_VERSION_PATCH, payload + 1);
  uint8_t out[sizeof(payload) + kOverhead];
  size_t n = encodeFrame(kMagicReply, 0, EVT_BOOT, payload, sizeof(payload), out);
  hal_.send(out, n);
  last_hb_ms_ = now_ms;
  last_rx_ms_ = now_ms;
}

void Device::updateAdaTarget() { parser_.setAdaTarget(pixels_, static_cast<uint16_t>(cfg_.led_count * 3u)); }

// ---------------------------------------------------------------- receive path

void Device::receive(uint8_t byte, uint32_t now_ms) {
  if (parser_.expire(now_ms)) stats_.len_err++;
  last_rx_ms_ = now_ms;
  Event ev = parser_.feed(byte, now_ms);
  switch (ev) {
    case Event::None:
      return;
    case Event::AdaFrame: {
      validFrame(now_ms);
      uint32_t got = parser_.adaLedCount();
      if (got < cfg_.led_count) {  // undersized frame: the rest goes black
        for (uint16_t i = static_cast<uint16_t>(got * 3u); i < cfg_.led_count * 3u; i++) pixels_[i] = 0;
      }
      staged_ = false;
      render(now_ms);
      return;
    }
    case Event::AdaHeaderError:
    case Event::HeaderError:
      stats_.hdr_err++;
      return;
    case Event::CrcError:
      stats_.crc_err++;
      reply(parser_.frame(), ST_CRC_ERROR);
      return;
    case Event::LengthError:
      stats_.len_err++;
      reply(parser_.frame(), ST_BAD_LENGTH);
      return;
    case Event::Request:
      handleRequest(parser_.frame(), now_ms);
      return;
  }
}

void Device::validFrame(uint32_t now_ms) {
  stats_.rx_ok++;
  last_valid_ms_ = now_ms;
  armed_ = true;
  state_ = STATE_LIVE;
}

void Device::goStale(uint32_t now_ms) {
  state_ = STATE_STALE;
  stale_since_ms_ = now_ms;
  stats_.stale_events++;
  session_ = false;
  staged_ = false;
}

void Device::reply(const Frame& f, uint8_t status, const uint8_t* data, uint8_t n) {
  uint8_t payload[1 + kInfoLen];
  uint8_t out[sizeof(payload) + kOverhead];
  payload[0] = status;
  if (n > kInfoLen) n = kInfoLen;
  for (uint8_t i = 0; i < n; i++) payload[1 + i] = data[i];
  size_t len = encodeFrame(kMagicReply, f.seq, static_cast<uint8_t>(f.cmd | kReplyBit), payload,
                           static_cast<uint8_t>(n + 1), out);
  hal_.send(out, len);
}

uint16_t Device::showUs() const { return static_cast<uint16_t>(30u * cfg_.led_count + 300u); }

void Device::handleRequest(const Frame& f, uint32_t now_ms) {
  validFrame(now_ms);
  uint8_t status = ST_OK;
  uint8_t data[kInfoLen];
  uint8_t n = 0;
  bool force_show = false;
  bool staging = false;

  switch (f.cmd) {
    case CMD_HELLO: {
      Hello h;
      status = decodeHello(f, h);
      if (status == ST_OK && h.proto_max < 1) status = ST_BAD_ARG;
      if (status != ST_OK) break;
      session_ = true;
      Info info;
      info.proto = kVersion;
      info.fw_major = FW_VERSION_MAJOR;
      info.fw_minor = FW_VERSION_MINOR;
      info.fw_patch = FW_VERSION_PATCH;
      info.device_id = device_id_;
      info.led_count = cfg_.led_count;
      info.led_max = LED_MAX;
      info.max_payload = kMaxPayload;
      info.caps = CAP_STALE_WATCHDOG | CAP_POWER_LIMIT | CAP_EEPROM_CONFIG | CAP_IDENTIFY;
      info.color_order = LED_COLOR_ORDER;
      info.reset_cause = reset_cause_;
      info.brightness = cfg_.brightness;
      info.power_limit_ma = cfg_.power_limit_ma;
      info.stale_after_s = cfg_.stale_after_s;
      info.show_us = showUs();
      encodeInfo(info, data);
      n = kInfoLen;
      break;
    }
    case CMD_PING:
      encodePing(now_ms, state_, data);
      n = 5;
      break;
    case CMD_BYE: {
      Bye b;
      status = decodeBye(f, b);
      if (status == ST_OK && b.action > BYE_KEEP) status = ST_BAD_ARG;
      if (status != ST_OK) break;
      if (b.action == BYE_STALE) {
        goStale(now_ms);
      } else if (b.action == BYE_BLANK) {
        state_ = STATE_OFF;
        armed_ = false;
      } else {
        armed_ = false;  // keep colours, no stale watchdog until the next valid frame
      }
      session_ = false;
      staged_ = false;
      last_hb_ms_ = now_ms;  // heartbeats resume one period later
      break;
    }
    case CMD_SET_PIXELS: {
      SetPixels p;
      status = decodeSetPixels(f, p);
      if (status == ST_OK && static_cast<uint32_t>(p.start) + p.count > cfg_.led_count) status = ST_BAD_ARG;
      if (status != ST_OK) break;
      for (uint16_t i = 0; i < p.count * 3u; i++) pixels_[p.start * 3u + i] = p.rgb[i];
      force_show = p.commit;
      staging = !p.commit;
      break;
    }
    case CMD_FILL: {
      Fill fl;
      status = decodeFill(f, fl);
      if (status == ST_OK && static_cast<uint32_t>(fl.start) + fl.count > cfg_.led_count) status = ST_BAD_ARG;
      if (status != ST_OK) break;
      for (uint16_t i = fl.start; i < fl.start + fl.count; i++) {
        pixels_[i * 3u] = fl.r;
        pixels_[i * 3u + 1] = fl.g;
        pixels_[i * 3u + 2] = fl.b;
      }
      force_show = fl.commit;
      staging = !fl.commit;
      break;
    }
    case CMD_COMMIT:
      force_show = true;
      break;
    case CMD_SET_CONFIG: {
      SetConfig c;
      status = decodeSetConfig(f, c);
      if (status != ST_OK) break;
      uint32_t applied = 0;
      status = applyConfig(c.key, c.value, &applied);
      if (status != ST_OK) break;
      encodeConfigValue(c.key, applied, data);
      n = 5;
      break;
    }
    case CMD_SAVE_CONFIG:
      status = saveStorage() ? ST_OK : ST_EEPROM_ERROR;
      break;
    case CMD_IDENTIFY: {
      Identify id;
      status = decodeIdentify(f, id);
      if (status != ST_OK) break;
      identify_ = id.seconds > 0;
      identify_start_ms_ = now_ms;
      identify_ms_ = id.seconds * 1000ul;
      break;
    }
    case CMD_GET_STATS:
      encodeStats(stats_, data);
      n = kStatsLen;
      break;
    default:
      status = ST_UNKNOWN_CMD;
      break;
  }

  if (staging) {
    staged_ = true;
    staged_ms_ = now_ms;
  } else if (force_show) {
    staged_ = false;
  }
  // Show before the reply (stop-and-wait): on commit, or when this request changed the look
  // (stale/off -> live, identify, BYE). Uncommitted pixel data waits for its COMMIT.
  uint8_t level = 0;
  uint16_t key = static_cast<uint16_t>((currentLook(now_ms, &level) << 8) | level);
  if (force_show || (!staging && key != shown_key_)) render(now_ms);
  reply(f, status, data, n);
}

uint8_t Device::applyConfig(uint8_t key, uint32_t value, uint32_t* applied) {
  switch (key) {
    case KEY_LED_COUNT:
      cfg_.led_count = static_cast<uint16_t>(clampU32(value, 1, LED_MAX));
      updateAdaTarget();
      *applied = cfg_.led_count;
      return ST_OK;
    case KEY_BRIGHTNESS:
      cfg_.brightness = static_cast<uint8_t>(clampU32(value, 0, 255));
      *applied = cfg_.brightness;
      return ST_OK;
    case KEY_POWER_LIMIT_MA:
      cfg_.power_limit_ma = static_cast<uint16_t>(clampU32(value, POWER_LIMIT_MIN_MA, POWER_LIMIT_MAX_MA));
      *applied = cfg_.power_limit_ma;
      return ST_OK;
    case KEY_STALE_AFTER_S:
      cfg_.stale_after_s = static_cast<uint8_t>(clampU32(value, 1, STALE_AFTER_MAX_S));
      *applied = cfg_.stale_after_s;
      return ST_OK;
    default:
      return ST_BAD_ARG;
  }
}

// ---------------------------------------------------------------- timers

void Device::poll(uint32_t now_ms, bool rx_pending) {
  if (parser_.expire(now_ms)) stats_.len_err++;
  if (identify_ && elapsed(now_ms, identify_start_ms_, identify_ms_)) identify_ = false;
  if (state_ == STATE_LIVE && armed_ && elapsed(now_ms, last_valid_ms_, cfg_.stale_after_s * 1000ul)) {
    goStale(now_ms);
  }
  if (state_ == STATE_STALE && elapsed(now_ms, stale_since_ms_, OFF_AFTER_STALE_S * 1000ul)) {
    state_ = STATE_OFF;
  }
  if (!session_ && elapsed(now_ms, last_hb_ms_, kHeartbeatMs)) {
    hal_.send(reinterpret_cast<const uint8_t*>(kHelloLine), 4);
    last_hb_ms_ = now_ms;
  }
  // Animation / timed look changes. Never while a frame is being received or bytes wait,
  // nor right after a byte (the host may be mid-request), nor while a chunked frame is staged.
  uint8_t level = 0;
  uint16_t key = static_cast<uint16_t>((currentLook(now_ms, &level) << 8) | level);
  if (key == shown_key_) return;
  if (!parser_.idle() || rx_pending || !elapsed(now_ms, last_rx_ms_, kRenderHoldMs)) return;
  if (staged_ && !elapsed(now_ms, staged_ms_, kStagedHoldMs)) return;
  render(now_ms);
}

uint8_t Device::staleLevel(uint32_t t_ms) {
  uint32_t p = t_ms % kStalePeriodMs;
  const uint32_t half = kStalePeriodMs / 2;
  const uint32_t span = kStaleMaxA - kStaleMinA;
  if (p < half) return static_cast<uint8_t>(kStaleMinA + span * p / half);
  return static_cast<uint8_t>(kStaleMinA + span * (kStalePeriodMs - p) / half);
}

Device::Look Device::currentLook(uint32_t now_ms, uint8_t* level) const {
  *level = 0;
  if (identify_) {
    uint32_t phase = static_cast<uint32_t>(now_ms - identify_start_ms_) / kIdentifyHalfMs;
    return (phase & 1u) == 0 ? LOOK_IDENTIFY_ON : LOOK_IDENTIFY_DARK;
  }
  switch (state_) {
    case STATE_LIVE:
      return LOOK_FRAME;
    case STATE_STALE:
      *level = staleLevel(static_cast<uint32_t>(now_ms - stale_since_ms_));
      return LOOK_STALE;
    default:
      return LOOK_OFF;
  }
}

// ---------------------------------------------------------------- show

uint32_t Device::estimateMa(const uint8_t* rgb, uint16_t leds) {
  uint32_t sum = 0;
  for (uint16_t i = 0; i < leds * 3u; i++) sum += rgb[i];
  return static_cast<uint32_t>(leds) * LED_IDLE_MA + sum * LED_MA_PER_CHANNEL / 255u;
}

void Device::limitFrame(uint8_t* rgb, uint16_t leds, uint8_t brightness, uint16_t power_limit_ma) {
  const uint16_t bytes = static_cast<uint16_t>(leds * 3u);
  uint32_t sum = 0;
  for (uint16_t i = 0; i < bytes; i++) {
    rgb[i] = static_cast<uint8_t>((static_cast<uint16_t>(rgb[i]) * (brightness + 1u)) >> 8);
    sum += rgb[i];
  }
  const uint32_t idle = static_cast<uint32_t>(leds) * LED_IDLE_MA;
  if (idle >= power_limit_ma) {
    for (uint16_t i = 0; i < bytes; i++) rgb[i] = 0;
    return;
  }
  const uint32_t budget = power_limit_ma - idle;  // mA left for colour
  const uint32_t need = sum * LED_MA_PER_CHANNEL;   // colour current * 255
  if (need <= budget * 255u) return;
  // scale = budget / colour current as an 8-bit fraction (< 256 here); rounding down keeps
  // the estimate under the limit.
  const uint16_t scale = static_cast<uint16_t>(budget * 255u * 256u / need);
  for (uint16_t i = 0; i < bytes; i++) rgb[i] = static_cast<uint8_t>((rgb[i] * scale) >> 8);
}

void Device::render(uint32_t now_ms) {
  uint8_t level = 0;
  const Look look = currentLook(now_ms, &level);
  const uint16_t n = cfg_.led_count;
  uint8_t r = 0, g = 0, b = 0;
  if (look == LOOK_IDENTIFY_ON) {
    r = g = b = 255;
  } else if (look == LOOK_STALE) {
    r = level;
    g = static_cast<uint8_t>(level * 3u / 8u);
  }
  for (uint16_t i = 0; i < n; i++) {
    if (look == LOOK_FRAME) {
      wire_[i * 3u] = pixels_[i * 3u];
      wire_[i * 3u + 1] = pixels_[i * 3u + 1];
      wire_[i * 3u + 2] = pixels_[i * 3u + 2];
    } else {
      wire_[i * 3u] = r;
      wire_[i * 3u + 1] = g;
      wire_[i * 3u + 2] = b;
    }
  }
  limitFrame(wire_, n, cfg_.brightness, cfg_.power_limit_ma);
  const uint8_t* order = kOrder[LED_COLOR_ORDER];
  for (uint16_t i = 0; i < n; i++) {
    uint8_t* p = wire_ + i * 3u;
    const uint8_t c[3] = {p[0], p[1], p[2]};
    p[0] = c[order[0]];
    p[1] = c[order[1]];
    p[2] = c[order[2]];
  }
  // LEDs cut off by a smaller led_count get one black frame.
  uint16_t push = n > pushed_count_ ? n : pushed_count_;
  for (uint16_t i = static_cast<uint16_t>(n * 3u); i < push * 3u; i++) wire_[i] = 0;
  hal_.show(wire_, push * 3u);
  pushed_count_ = n;
  shown_key_ = static_cast<uint16_t>((look << 8) | level);
}

// ---------------------------------------------------------------- EEPROM record

void Device::loadStorage() {
  uint8_t rec[kStorageLen];
  bool ok = hal_.storageRead(kStorageAddr, rec, kStorageLen) && rec[0] == kStorageMagic0 &&
            rec[1] == kStorageMagic1 && rec[2] == kStorageVersion && rec[3] == kStorageLen &&
            getU16(rec + 14) == crc16(rec, 14);
  uint32_t id = ok ? getU32(rec + 4) : 0;
  if (ok && id != 0 && id != 0xFFFFFFFFul) {
    device_id_ = id;
    uint32_t applied;
    applyConfig(KEY_LED_COUNT, getU16(rec + 8), &applied);
    applyConfig(KEY_BRIGHTNESS, rec[10], &applied);
    applyConfig(KEY_POWER_LIMIT_MA, getU16(rec + 11), &applied);
    applyConfig(KEY_STALE_AFTER_S, rec[13], &applied);
    return;
  }
  // First boot (or a corrupt record): new device id, board defaults, written once.
  id = hal_.entropy();
  if (id == 0 || id == 0xFFFFFFFFul) id ^= 0x5BD1E995ul;
  device_id_ = id;
  saveStorage();
}

bool Device::saveStorage() {
  uint8_t rec[kStorageLen];
  rec[0] = kStorageMagic0;
  rec[1] = kStorageMagic1;
  rec[2] = kStorageVersion;
  rec[3] = kStorageLen;
  putU32(rec + 4, device_id_);
  putU16(rec + 8, cfg_.led_count);
  rec[10] = cfg_.brightness;
  putU16(rec + 11, cfg_.power_limit_ma);
  rec[13] = cfg_.stale_after_s;
  putU16(rec + 14, crc16(rec, 14));
  return hal_.storageWrite(kStorageAddr, rec, kStorageLen);
}

}  // namespace ledtogo
