/*
 * protocol.cpp - ledtogo serial protocol v1: CRC-16/IBM-3740, frame and payload coding and the
 * byte-at-a-time parser that hunts "Ada"/"Adx" and resynchronises after garbage.
 * Plain C++14 shared by the firmware and the host unit tests (no Arduino includes).
 */
#include "protocol.h"

namespace ledtogo {
namespace proto {

uint16_t crc16Update(uint16_t crc, uint8_t byte) {
  // Same result as avr-libc's _crc_xmodem_update, written portably.
  crc = static_cast<uint16_t>(crc ^ (static_cast<uint16_t>(byte) << 8));
  for (uint8_t i = 0; i < 8; i++) {
    if (crc & 0x8000) {
      crc = static_cast<uint16_t>((crc << 1) ^ 0x1021);
    } else {
      crc = static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

uint16_t crc16(const uint8_t* data, size_t len, uint16_t crc) {
  for (size_t i = 0; i < len; i++) crc = crc16Update(crc, data[i]);
  return crc;
}

size_t encodeFrame(uint8_t magic3, uint8_t seq, uint8_t cmd, const uint8_t* payload, uint8_t len,
                   uint8_t* out) {
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[2] = magic3;
  out[3] = seq;
  out[4] = cmd;
  out[5] = len;
  out[6] = headerCheck(seq, cmd, len);
  for (uint8_t i = 0; i < len; i++) out[kHeaderLen + i] = payload[i];
  uint16_t crc = crc16(out, kHeaderLen + len);
  putU16(out + kHeaderLen + len, crc);
  return kHeaderLen + len + 2u;
}

// ---------------------------------------------------------------- payload decoders

Status decodeHello(const Frame& f, Hello& out) {
  if (f.len < 2) return ST_BAD_LENGTH;
  out.proto_max = f.payload[0];
  out.flags = f.payload[1];
  return ST_OK;
}

Status decodeBye(const Frame& f, Bye& out) {
  if (f.len < 1) return ST_BAD_LENGTH;
  out.action = f.payload[0];
  return ST_OK;
}

Status decodeSetPixels(const Frame& f, SetPixels& out) {
  if (f.len < 3 || (f.len - 3) % 3 != 0) return ST_BAD_LENGTH;
  out.start = getU16(f.payload);
  out.commit = (f.payload[2] & 0x01) != 0;
  out.count = static_cast<uint8_t>((f.len - 3) / 3);
  out.rgb = f.payload + 3;
  return ST_OK;
}

Status decodeFill(const Frame& f, Fill& out) {
  if (f.len < 8) return ST_BAD_LENGTH;
  out.start = getU16(f.payload);
  out.count = getU16(f.payload + 2);
  out.r = f.payload[4];
  out.g = f.payload[5];
  out.b = f.payload[6];
  out.commit = (f.payload[7] & 0x01) != 0;
  return ST_OK;
}

Status decodeSetConfig(const Frame& f, SetConfig& out) {
  if (f.len < 5) return ST_BAD_LENGTH;
  out.key = f.payload[0];
  out.value = getU32(f.payload + 1);
  return ST_OK;
}

Status decodeIdentify(const Frame& f, Identify& out) {
  if (f.len < 1) return ST_BAD_LENGTH;
  out.seconds = f.payload[0];
  return ST_OK;
}

// ---------------------------------------------------------------- payload encoders

void encodeInfo(const Info& info, uint8_t* out) {
  out[0] = info.proto;
  out[1] = info.fw_major;
  out[2] = info.fw_minor;
  out[3] = info.fw_patch;
  putU32(out + 4, info.device_id);
  putU16(out + 8, info.led_count);
  putU16(out + 10, info.led_max);
  out[12] = info.max_payload;
  putU16(out + 13, info.caps);
  out[15] = info.color_order;
  out[16] = info.reset_cause;
  out[17] = info.brightness;
  putU16(out + 18, info.power_limit_ma);
  putU16(out + 20, info.stale_after_s);
  putU16(out + 22, info.show_us);
}

void encodeStats(const Stats& s, uint8_t* out) {
  putU16(out, s.rx_ok);
  putU16(out + 2, s.crc_err);
  putU16(out + 4, s.hdr_err);
  putU16(out + 6, s.len_err);
  putU16(out + 8, s.stale_events);
}

void encodePing(uint32_t uptime_ms, uint8_t state, uint8_t* out) {
  putU32(out, uptime_ms);
  out[4] = state;
}

void encodeConfigValue(uint8_t key, uint32_t value, uint8_t* out) {
  out[0] = key;
  putU32(out + 1, value);
}

void encodeBoot(uint8_t reset_cause, uint8_t fw_major, uint8_t fw_minor, uint8_t fw_patch,
                uint8_t* out) {
  out[0] = reset_cause;
  out[1] = kVersion;
  out[2] = fw_major;
  out[3] = fw_minor;
  out[4] = fw_patch;
}

// ---------------------------------------------------------------- parser

Parser::Parser()
    : state_(HUNT_A),
      ada_target_(nullptr),
      ada_capacity_(0),
      ada_count_(0),
      ada_index_(0),
      ada_total_(0),
      pos_(0),
      crc_(0xFFFF),
      rx_crc_(0),
      drain_left_(0),
      last_byte_ms_(0),
      replay_len_(0) {
  for (uint8_t i = 0; i < 4; i++) hdr_[i] = replay_[i] = 0;
  for (uint8_t i = 0; i < kMaxPayload; i++) payload_[i] = 0;
}

void Parser::setAdaTarget(uint8_t* rgb, uint16_t capacity_bytes) {
  ada_target_ = rgb;
  ada_capacity_ = capacity_bytes;
}

bool Parser::idle() const { return state_ == HUNT_A; }

Frame Parser::frame() const {
  Frame f;
  f.seq = hdr_[0];
  f.cmd = hdr_[1];
  f.len = hdr_[2];
  f.payload = payload_;
  return f;
}

bool Parser::expire(uint32_t now_ms) {
  if (idle()) return false;
  if (static_cast<uint32_t>(now_ms - last_byte_ms_) < kByteTimeoutMs) return false;
  const bool in_frame = state_ > HUNT_M3;  // a lone partial magic is just noise
  state_ = HUNT_A;
  return in_frame;
}

Event Parser::feed(uint8_t byte, uint32_t now_ms) {
  last_byte_ms_ = now_ms;
  Event ev = step(byte);
  // A header error asks to hunt again from the byte after the magic. Those (at most 4) bytes
  // cannot complete a frame or fail another header (both need more than 4 bytes after a
  // magic), so replaying them here never produces a second event.
  uint8_t n = replay_len_;
  replay_len_ = 0;
  for (uint8_t i = 0; i < n; i++) step(replay_[i]);
  return ev;
}

void Parser::resumeAfterMagic(const uint8_t* bytes, uint8_t n) {
  for (uint8_t i = 0; i < n; i++) replay_[i] = bytes[i];
  replay_len_ = n;
  state_ = HUNT_A;
}

Event Parser::step(uint8_t b) {
  switch (state_) {
    case HUNT_A:
      if (b == kMagic0) state_ = HUNT_D;
      return Event::None;
    case HUNT_D:
      if (b == kMagic1) {
        state_ = HUNT_M3;
      } else if (b != kMagic0) {
        state_ = HUNT_A;
      }
      return Event::None;
    case HUNT_M3:
      if (b == kMagicAda) {
        state_ = ADA_HI;
        pos_ = 0;
      } else if (b == kMagicRequest) {
        state_ = X_SEQ;
        pos_ = 0;
        crc_ = crc16Update(crc16Update(crc16Update(0xFFFF, kMagic0), kMagic1), kMagicRequest);
      } else {
        state_ = (b == kMagic0) ? HUNT_D : HUNT_A;
      }
      return Event::None;

    case ADA_HI:
      hdr_[0] = b;
      state_ = ADA_LO;
      return Event::None;
    case ADA_LO:
      hdr_[1] = b;
      state_ = ADA_CHK;
      return Event::None;
    case ADA_CHK:
      hdr_[2] = b;
      if (b != static_cast<uint8_t>(hdr_[0] ^ hdr_[1] ^ 0x55)) {
        resumeAfterMagic(hdr_, 3);
        return Event::AdaHeaderError;
      }
      ada_count_ = ((static_cast<uint32_t>(hdr_[0]) << 8) | hdr_[1]) + 1u;
      ada_total_ = ada_count_ * 3u;
      ada_index_ = 0;
      state_ = ADA_DATA;
      return Event::None;
    case ADA_DATA:
      if (ada_index_ < ada_capacity_ && ada_target_ != nullptr) ada_target_[ada_index_] = b;
      ada_index_++;
      if (ada_index_ >= ada_total_) {
        state_ = HUNT_A;
        return Event::AdaFrame;
      }
      return Event::None;

    case X_SEQ:
    case X_CMD:
    case X_LEN:
      hdr_[pos_++] = b;
      crc_ = crc16Update(crc_, b);
      state_ = static_cast<State>(state_ + 1);
      return Event::None;
    case X_HCHK:
      hdr_[3] = b;
      if (b != headerCheck(hdr_[0], hdr_[1], hdr_[2])) {
        resumeAfterMagic(hdr_, 4);
        return Event::HeaderError;
      }
      crc_ = crc16Update(crc_, b);
      pos_ = 0;
      if (hdr_[2] > kMaxPayload) {
        drain_left_ = static_cast<uint16_t>(hdr_[2] + 2u);
        state_ = X_DRAIN;
      } else {
        state_ = hdr_[2] == 0 ? X_CRC_HI : X_PAYLOAD;
      }
      return Event::None;
    case X_PAYLOAD:
      payload_[pos_++] = b;
      crc_ = crc16Update(crc_, b);
      if (pos_ >= hdr_[2]) state_ = X_CRC_HI;
      return Event::None;
    case X_CRC_HI:
      rx_crc_ = static_cast<uint16_t>(b) << 8;
      state_ = X_CRC_LO;
      return Event::None;
    case X_CRC_LO:
      rx_crc_ = static_cast<uint16_t>(rx_crc_ | b);
      state_ = HUNT_A;
      return rx_crc_ == crc_ ? Event::Request : Event::CrcError;
    case X_DRAIN:
      if (--drain_left_ == 0) {
        state_ = HUNT_A;
        return Event::LengthError;
      }
      return Event::None;
  }
  state_ = HUNT_A;
  return Event::None;
}

}  // namespace proto
}  // namespace ledtogo
