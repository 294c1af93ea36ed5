/*
 * protocol.h - ledtogo serial protocol v1: constants, CRC, frame encoding, payload
 * encoders/decoders and the byte-at-a-time frame parser (Ada legacy frames + Adx requests).
 *
 * Plain C++14, no Arduino or AVR includes: the same code runs on the Uno and in the host
 * unit tests. The wire format is documented in firmware/PROTOCOL.md.
 */
#ifndef LEDTOGO_PROTOCOL_H
#define LEDTOGO_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

namespace ledtogo {
namespace proto {

const uint8_t kVersion = 1;          // protocol version reported in INFO and BOOT
const uint8_t kMagic0 = 'A';
const uint8_t kMagic1 = 'd';
const uint8_t kMagicAda = 'a';       // legacy Adalight frame
const uint8_t kMagicRequest = 'x';   // "Adx" host -> device
const uint8_t kMagicReply = 'y';     // "Ady" device -> host
const uint8_t kMaxPayload = 96;      // largest request payload the device accepts
const uint8_t kHeaderLen = 7;        // magic(3) seq cmd len hchk
const uint8_t kOverhead = 9;         // header + CRC
const uint8_t kReplyBit = 0x80;      // reply cmd = request cmd | 0x80
const uint8_t kInfoLen = 24;         // INFO bytes after the status byte
const uint8_t kStatsLen = 10;        // GET_STATS bytes after the status byte
const uint8_t kMaxPixelsPerRequest = (kMaxPayload - 3) / 3;  // 31

enum Cmd : uint8_t {
  CMD_HELLO = 0x01,
  CMD_PING = 0x02,
  CMD_BYE = 0x03,
  CMD_SET_PIXELS = 0x10,
  CMD_FILL = 0x12,
  CMD_COMMIT = 0x13,
  CMD_SET_CONFIG = 0x21,
  CMD_SAVE_CONFIG = 0x22,
  CMD_IDENTIFY = 0x30,
  CMD_GET_STATS = 0x31,
  EVT_BOOT = 0xE0,
};

enum Status : uint8_t {
  ST_OK = 0x00,
  ST_CRC_ERROR = 0x01,
  ST_UNKNOWN_CMD = 0x02,
  ST_BAD_LENGTH = 0x03,
  ST_BAD_ARG = 0x04,
  ST_BUSY = 0x05,
  ST_EEPROM_ERROR = 0x06,
};

enum ConfigKey : uint8_t {
  KEY_LED_COUNT = 1,
  KEY_BRIGHTNESS = 2,
  KEY_POWER_LIMIT_MA = 3,
  KEY_STALE_AFTER_S = 4,
};

enum ByeAction : uint8_t { BYE_STALE = 0, BYE_BLANK = 1, BYE_KEEP = 2 };

enum LinkState : uint8_t { STATE_LIVE = 0, STATE_STALE = 1, STATE_OFF = 2 };

// Capability bits of INFO.
const uint16_t CAP_STALE_WATCHDOG = 1u << 0;
const uint16_t CAP_POWER_LIMIT = 1u << 1;
const uint16_t CAP_EEPROM_CONFIG = 1u << 2;
const uint16_t CAP_IDENTIFY = 1u << 3;

// ---- CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF, no reflection, xorout 0) ----
uint16_t crc16Update(uint16_t crc, uint8_t byte);
uint16_t crc16(const uint8_t* data, size_t len, uint16_t crc = 0xFFFF);

inline uint8_t headerCheck(uint8_t seq, uint8_t cmd, uint8_t len) {
  return static_cast<uint8_t>(seq ^ cmd ^ len ^ 0x55);
}
inline void putU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void putU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline uint16_t getU16(const uint8_t* p) {
  return static_cast<uint16_t>((static_cast<uint16_t>(p[0]) << 8) | p[1]);
}
inline uint32_t getU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// Writes a complete extended frame (magic "Ad"+magic3, header, payload, CRC) to out, which
// must hold len + kOverhead bytes. Returns the number of bytes written.
size_t encodeFrame(uint8_t magic3, uint8_t seq, uint8_t cmd, const uint8_t* payload, uint8_t len,
                   uint8_t* out);

// One received extended frame (request) as seen by the parser.
struct Frame {
  uint8_t seq;
  uint8_t cmd;
  uint8_t len;
  const uint8_t* payload;  // len bytes, valid until the next feed()
};

// ---- request payloads (decode returns ST_OK, ST_BAD_LENGTH or ST_BAD_ARG) ----
// Payloads longer than a command's fields are accepted, the extra bytes ignored (fields are
// only ever appended), except SET_PIXELS whose pixel data must be whole RGB triples.
struct Hello {
  uint8_t proto_max;
  uint8_t flags;
};
struct Bye {
  uint8_t action;
};
struct SetPixels {
  uint16_t start;
  bool commit;
  uint8_t count;       // number of RGB triples
  const uint8_t* rgb;  // count * 3 bytes
};
struct Fill {
  uint16_t start;
  uint16_t count;
  uint8_t r, g, b;
  bool commit;
};
struct SetConfig {
  uint8_t key;
  uint32_t value;
};
struct Identify {
  uint8_t seconds;
};

Status decodeHello(const Frame& f, Hello& out);
Status decodeBye(const Frame& f, Bye& out);
Status decodeSetPixels(const Frame& f, SetPixels& out);
Status decodeFill(const Frame& f, Fill& out);
Status decodeSetConfig(const Frame& f, SetConfig& out);
Status decodeIdentify(const Frame& f, Identify& out);

// ---- reply / event payloads (bytes after the status byte) ----
struct Info {
  uint8_t proto;
  uint8_t fw_major, fw_minor, fw_patch;
  uint32_t device_id;
  uint16_t led_count;
  uint16_t led_max;
  uint8_t max_payload;
  uint16_t caps;
  uint8_t color_order;
  uint8_t reset_cause;
  uint8_t brightness;
  uint16_t power_limit_ma;
  uint16_t stale_after_s;
  uint16_t show_us;
};
struct Stats {
  uint16_t rx_ok;
  uint16_t crc_err;
  uint16_t hdr_err;
  uint16_t len_err;
  uint16_t stale_events;
};
void encodeInfo(const Info& info, uint8_t* out);     // kInfoLen bytes
void encodeStats(const Stats& stats, uint8_t* out);  // kStatsLen bytes
void encodePing(uint32_t uptime_ms, uint8_t state, uint8_t* out);               // 5 bytes
void encodeConfigValue(uint8_t key, uint32_t value, uint8_t* out);              // 5 bytes
void encodeBoot(uint8_t reset_cause, uint8_t fw_major, uint8_t fw_minor, uint8_t fw_patch,
                uint8_t* out);                                                  // 5 bytes

// ---- byte-at-a-time parser ----
enum class Event : uint8_t {
  None,         // byte consumed, nothing complete yet
  AdaFrame,     // a whole Ada frame arrived; its RGB bytes were written to the Ada target
  AdaHeaderError,  // "Ada" + bad hi/lo check: hunting resumed after the magic
  Request,      // an Adx frame with a good CRC: see frame()
  CrcError,     // an Adx frame with a valid header but a bad CRC: frame() has seq/cmd/len
  HeaderError,  // "Adx" + bad header check: hunting resumed after the magic
  LengthError,  // an Adx frame with len > kMaxPayload was drained: frame() has seq/cmd/len
};

class Parser {
 public:
  // A frame whose bytes stop arriving for this long is dropped (see expire()).
  static const uint16_t kByteTimeoutMs = 100;

  Parser();
  // Where Ada frame RGB bytes go: the first capacity_bytes are stored, the rest are consumed.
  void setAdaTarget(uint8_t* rgb, uint16_t capacity_bytes);
  // Feeds one received byte. now_ms only stamps the byte for expire().
  Event feed(uint8_t byte, uint32_t now_ms);
  // Drops a partly received frame when no byte came for kByteTimeoutMs. Returns true if a
  // frame was dropped (counts as a length error: the frame was shorter than announced).
  bool expire(uint32_t now_ms);
  // True while nothing is partly received, not even the start of a magic.
  bool idle() const;
  // Details of the last Request / CrcError / LengthError.
  Frame frame() const;
  // Details of the last AdaFrame: LED count announced in its header.
  uint32_t adaLedCount() const { return ada_count_; }

 private:
  enum State : uint8_t {
    HUNT_A, HUNT_D, HUNT_M3,
    ADA_HI, ADA_LO, ADA_CHK, ADA_DATA,
    X_SEQ, X_CMD, X_LEN, X_HCHK, X_PAYLOAD, X_CRC_HI, X_CRC_LO, X_DRAIN,
  };
  Event step(uint8_t byte);
  void resumeAfterMagic(const uint8_t* bytes, uint8_t n);

  State state_;
  uint8_t* ada_target_;
  uint16_t ada_capacity_;
  uint32_t ada_count_;
  uint32_t ada_index_;
  uint32_t ada_total_;
  uint8_t hdr_[4];  // Ada: hi lo chk; Adx: seq cmd len hchk
  uint8_t pos_;
  uint16_t crc_;
  uint16_t rx_crc_;
  uint16_t drain_left_;
  uint32_t last_byte_ms_;
  uint8_t replay_[4];
  uint8_t replay_len_;
  uint8_t payload_[kMaxPayload];
};

}  // namespace proto
}  // namespace ledtogo

#endif  // LEDTOGO_PROTOCOL_H
