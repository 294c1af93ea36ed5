/*
 * fuzz_protocol.cpp - libFuzzer harness for the firmware's byte-at-a-time protocol parser
 * (ledtogo/protocol.cpp), built by `make fuzz` with clang++ -fsanitize=fuzzer,address,undefined.
 *
 * Input: byte 0 sets the time between bytes (0-127 ms, so some inputs also run expire()), the
 * rest is fed to one Parser as the serial line would. Checks, beyond ASan/UBSan:
 *  - a Request is exactly the last len+9 bytes fed, and re-encodes to them; len <= kMaxPayload;
 *    every request payload decoder accepts or refuses it without reading past len;
 *  - an AdaFrame is exactly "Ada" + header + 3*count bytes ending at this byte, and the Ada target
 *    (an exact-size heap buffer, so ASan sees any overrun) holds the first of those RGB bytes;
 *  - a CrcError frame is at most kMaxPayload long, a LengthError one longer; the parser is idle
 *    after every complete frame.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "../ledtogo/protocol.h"

using namespace ledtogo::proto;

namespace {

// The device's Ada target: the board's maximum of 150 LEDs.
const uint16_t kAdaCapacity = 150 * 3;

[[noreturn]] void fail(const char* what, size_t at) {
  fprintf(stderr, "fuzz_protocol: %s (at input byte %zu)\n", what, at);
  abort();
}

void checkDecoders(const Frame& f) {
  // Copy the payload to an exact-size buffer: a decoder reading past len hits ASan.
  uint8_t* copy = static_cast<uint8_t*>(malloc(f.len > 0 ? f.len : 1));
  memcpy(copy, f.payload, f.len);
  Frame g = f;
  g.payload = copy;
  Hello hello;
  Bye bye;
  SetPixels pixels;
  Fill fill;
  SetConfig config;
  Identify identify;
  (void)decodeHello(g, hello);
  (void)decodeBye(g, bye);
  if (decodeSetPixels(g, pixels) == ST_OK) {
    if (3u + 3u * pixels.count != g.len || pixels.rgb != copy + 3) fail("SET_PIXELS layout", 0);
  }
  (void)decodeFill(g, fill);
  (void)decodeSetConfig(g, config);
  (void)decodeIdentify(g, identify);
  free(copy);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t gap_ms = data[0] & 0x7F;
  const uint8_t* line = data + 1;
  const size_t n = size - 1;

  uint8_t* ada = static_cast<uint8_t*>(malloc(kAdaCapacity));
  memset(ada, 0xEE, kAdaCapacity);
  Parser parser;
  parser.setAdaTarget(ada, kAdaCapacity);
  std::vector<uint8_t> encoded(255 + kOverhead);

  uint32_t now = 0;
  for (size_t i = 0; i < n; i++) {
    now += gap_ms;
    parser.expire(now);
    const Event ev = parser.feed(line[i], now);
    const size_t end = i + 1;  // the event's frame ends here
    switch (ev) {
      case Event::None:
        break;
      case Event::Request: {
        const Frame f = parser.frame();
        if (f.len > kMaxPayload) fail("request longer than kMaxPayload", i);
        const size_t total = f.len + kOverhead;
        if (total > end) fail("request longer than the bytes fed", i);
        const size_t written = encodeFrame(kMagicRequest, f.seq, f.cmd, f.payload, f.len,
                                           encoded.data());
        if (written != total || memcmp(encoded.data(), line + end - total, total) != 0) {
          fail("request does not re-encode to the bytes fed", i);
        }
        checkDecoders(f);
        break;
      }
      case Event::CrcError:
      case Event::LengthError: {
        const Frame f = parser.frame();
        if (ev == Event::LengthError && f.len <= kMaxPayload) fail("length error for a short frame", i);
        if (ev == Event::CrcError && f.len > kMaxPayload) fail("CRC error for an overlong frame", i);
        break;
      }
      case Event::AdaFrame: {
        const uint32_t count = parser.adaLedCount();
        if (count < 1 || count > 65536) fail("Ada LED count out of range", i);
        const size_t data_len = 3u * count;
        if (data_len + 6 > end) fail("Ada frame longer than the bytes fed", i);
        const uint8_t* head = line + end - data_len - 6;
        const uint16_t announced = static_cast<uint16_t>(count - 1);
        if (head[0] != 'A' || head[1] != 'd' || head[2] != 'a' || head[3] != (announced >> 8) ||
            head[4] != (announced & 0xFF) || head[5] != (head[3] ^ head[4] ^ 0x55)) {
          fail("Ada frame does not start with its header", i);
        }
        const size_t stored = data_len < kAdaCapacity ? data_len : kAdaCapacity;
        if (memcmp(ada, head + 6, stored) != 0) fail("Ada target does not hold the RGB bytes", i);
        break;
      }
      case Event::AdaHeaderError:
      case Event::HeaderError:
        break;
    }
    if (ev != Event::None && ev != Event::AdaHeaderError && ev != Event::HeaderError &&
        !parser.idle()) {
      fail("parser not idle after a complete frame", i);
    }
  }
  free(ada);
  return 0;
}
