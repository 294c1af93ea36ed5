/*
 * harness.cpp - the test runner (main) and the fakes declared in harness.h.
 * Prints one line per test and a final "N passed, N failed"; exits non-zero on failure.
 */
#include "harness.h"

#include <cstdlib>

namespace test {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
int g_failures = 0;

std::string hex(const std::vector<uint8_t>& v) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : v) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> v;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() % 2 != 0) return v;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nib(s[i]), lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) return std::vector<uint8_t>();
    v.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return v;
}

std::vector<Rgb> frameColours(const std::vector<uint8_t>& b) {
  std::vector<Rgb> v;
  for (size_t i = 0; i + 2 < b.size(); i += 3) v.push_back(static_cast<Rgb>(b[i]) << 16 | b[i + 1] << 8 | b[i + 2]);
  return v;
}

void FakeHal::show(const uint8_t* wire, size_t len) {
  static const uint8_t order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  const uint8_t* o = order[LED_COLOR_ORDER];
  std::vector<uint8_t> rgb(len);
  for (size_t i = 0; i + 2 < len; i += 3) {
    for (int j = 0; j < 3; j++) rgb[i + o[j]] = wire[i + j];
  }
  shown.push_back(rgb);
}

bool FakeHal::storageRead(uint16_t addr, uint8_t* buf, uint16_t len) {
  if (addr + len > eeprom.size()) return false;
  for (uint16_t i = 0; i < len; i++) buf[i] = eeprom[addr + i];
  return true;
}

bool FakeHal::storageWrite(uint16_t addr, const uint8_t* buf, uint16_t len) {
  eeprom_writes++;
  if (fail_writes || addr + len > eeprom.size()) return false;
  for (uint16_t i = 0; i < len; i++) eeprom[addr + i] = buf[i];
  return true;
}

std::vector<Item> splitOutput(const std::vector<uint8_t>& out) {
  std::vector<Item> items;
  size_t i = 0;
  while (i < out.size()) {
    Item it{};
    if (out.size() - i >= 4 && out[i] == 'A' && out[i + 1] == 'd' && out[i + 2] == 'a' && out[i + 3] == '\n') {
      it.hello_line = true;
      it.crc_ok = true;
      items.push_back(it);
      i += 4;
      continue;
    }
    if (out.size() - i >= 9 && out[i] == 'A' && out[i + 1] == 'd' && out[i + 2] == 'y') {
      uint8_t len = out[i + 5];
      size_t total = 9u + len;
      if (out.size() - i >= total) {
        it.raw.assign(out.begin() + i, out.begin() + i + total);
        it.seq = out[i + 3];
        it.cmd = out[i + 4];
        it.payload.assign(out.begin() + i + 7, out.begin() + i + 7 + len);
        uint16_t crc = ledtogo::proto::crc16(&out[i], 7u + len);
        it.crc_ok = out[i + 6] == ledtogo::proto::headerCheck(it.seq, it.cmd, len) &&
                    ledtogo::proto::getU16(&out[i + 7 + len]) == crc;
        items.push_back(it);
        i += total;
        continue;
      }
    }
    it.raw.assign(out.begin() + i, out.end());
    it.crc_ok = false;
    items.push_back(it);
    break;
  }
  return items;
}

std::vector<uint8_t> adx(uint8_t seq, uint8_t cmd, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(payload.size() + ledtogo::proto::kOverhead);
  size_t n = ledtogo::proto::encodeFrame(ledtogo::proto::kMagicRequest, seq, cmd, payload.data(),
                                         static_cast<uint8_t>(payload.size()), out.data());
  out.resize(n);
  return out;
}

std::vector<uint8_t> ada(const std::vector<Rgb>& leds) {
  std::vector<uint8_t> out = {'A', 'd', 'a'};
  size_t n = leds.size() - 1;
  uint8_t hi = static_cast<uint8_t>(n >> 8), lo = static_cast<uint8_t>(n);
  out.push_back(hi);
  out.push_back(lo);
  out.push_back(static_cast<uint8_t>(hi ^ lo ^ 0x55));
  for (Rgb c : leds) {
    out.push_back(static_cast<uint8_t>(c >> 16));
    out.push_back(static_cast<uint8_t>(c >> 8));
    out.push_back(static_cast<uint8_t>(c));
  }
  return out;
}

}  // namespace test

int main() {
  int passed = 0, failed = 0;
  for (auto& c : test::registry()) {
    test::g_failures = 0;
    c.fn();
    if (test::g_failures == 0) {
      passed++;
      std::printf("ok   %s\n", c.name);
    } else {
      failed++;
      std::printf("FAIL %s (%d checks)\n", c.name, test::g_failures);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
