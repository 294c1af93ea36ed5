/*
 * harness.h - minimal test runner and fakes for the host unit tests of the ledtogo firmware:
 * TEST()/CHECK macros, a FakeHal that records replies, shown frames (converted back to RGB)
 * and EEPROM writes, and a helper that splits device output into "Ada\n" lines and Ady frames.
 */
#ifndef LEDTOGO_TEST_HARNESS_H
#define LEDTOGO_TEST_HARNESS_H

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "../ledtogo/device.h"

namespace test {

struct Case {
  const char* name;
  std::function<void()> fn;
};
std::vector<Case>& registry();
extern int g_failures;  // failed checks in the running test

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, fn}); }
};

#define TEST(name)                                              \
  static void name();                                           \
  static test::Registrar name##_registrar(#name, name);         \
  static void name()

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::printf("    CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
      test::g_failures++;                                                                 \
    }                                                                                     \
  } while (0)

#define CHECK_EQ(a, b)                                                                    \
  do {                                                                                    \
    auto va_ = (a);                                                                       \
    auto vb_ = (b);                                                                       \
    if (!(va_ == vb_)) {                                                                  \
      std::printf("    CHECK_EQ failed at %s:%d: %s == %s (%s vs %s)\n", __FILE__, __LINE__, \
                  #a, #b, test::show(va_).c_str(), test::show(vb_).c_str());              \
      test::g_failures++;                                                                 \
    }                                                                                     \
  } while (0)

std::string hex(const std::vector<uint8_t>& v);
inline std::string show(const std::vector<uint8_t>& v) { return hex(v); }
inline std::string show(const std::string& s) { return "\"" + s + "\""; }
inline std::string show(bool b) { return b ? "true" : "false"; }
template <typename T>
std::string show(const T& v) {
  return std::to_string(static_cast<long long>(v));
}

std::vector<uint8_t> unhex(const std::string& s);

// RGB triple helpers
using Rgb = uint32_t;  // 0xRRGGBB
std::vector<Rgb> frameColours(const std::vector<uint8_t>& rgb_bytes);

class FakeHal : public ledtogo::Hal {
 public:
  std::vector<uint8_t> out;                 // everything sent to the host
  std::vector<std::vector<uint8_t>> shown;  // every show(), converted back to RGB order
  std::vector<uint8_t> eeprom = std::vector<uint8_t>(1024, 0xFF);
  int eeprom_writes = 0;
  bool fail_writes = false;
  uint32_t entropy_value = 0x3F9A2C1B;

  void send(const uint8_t* data, size_t len) override { out.insert(out.end(), data, data + len); }
  void show(const uint8_t* wire, size_t len) override;
  bool storageRead(uint16_t addr, uint8_t* buf, uint16_t len) override;
  bool storageWrite(uint16_t addr, const uint8_t* buf, uint16_t len) override;
  uint32_t entropy() override { return entropy_value; }

  std::vector<uint8_t> take() {
    std::vector<uint8_t> v;
    v.swap(out);
    return v;
  }
  std::vector<Rgb> lastFrame() const { return shown.empty() ? std::vector<Rgb>() : frameColours(shown.back()); }
};

// One item of device output.
struct Item {
  bool hello_line;         // "Ada\n"
  std::vector<uint8_t> raw;  // the complete Ady frame bytes (empty for the hello line)
  uint8_t seq, cmd;
  std::vector<uint8_t> payload;  // status + data
  bool crc_ok;
};
// Splits device output into hello lines and Ady frames; anything else is reported as an
// item with crc_ok = false and raw = the rest.
std::vector<Item> splitOutput(const std::vector<uint8_t>& out);

// Frame builders (through the C++ encoder).
std::vector<uint8_t> adx(uint8_t seq, uint8_t cmd, const std::vector<uint8_t>& payload);
std::vector<uint8_t> ada(const std::vector<Rgb>& leds);

}  // namespace test

#endif
