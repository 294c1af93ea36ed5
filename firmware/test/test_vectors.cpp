/*
 * test_vectors.cpp - checks firmware/protocol/golden-vectors.txt against the C++ code:
 * every h2d vector decodes (parser + payload decoders) to the meaning in the file, every d2h
 * vector is what the encoders make of its meaning, and replaying the file on one device gives
 * exactly the listed replies (and the boot output).
 */
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "harness.h"

using namespace ledtogo;
using namespace ledtogo::proto;
using test::unhex;

#ifndef VECTORS_FILE
#define VECTORS_FILE "protocol/golden-vectors.txt"
#endif

namespace {

struct Vector {
  int line;
  std::string name, dir, kind;
  std::vector<uint8_t> bytes;
  std::map<std::string, std::string> keys;
};

const std::map<std::string, uint8_t> kCmds = {
    {"hello", CMD_HELLO},          {"ping", CMD_PING},         {"bye", CMD_BYE},
    {"set_pixels", CMD_SET_PIXELS}, {"fill", CMD_FILL},         {"commit", CMD_COMMIT},
    {"set_config", CMD_SET_CONFIG}, {"save_config", CMD_SAVE_CONFIG}, {"identify", CMD_IDENTIFY},
    {"get_stats", CMD_GET_STATS},  {"boot", EVT_BOOT}};
const std::map<std::string, uint8_t> kStatus = {{"ok", ST_OK},           {"crc_error", ST_CRC_ERROR},
                                                {"unknown_cmd", ST_UNKNOWN_CMD}, {"bad_length", ST_BAD_LENGTH},
                                                {"bad_arg", ST_BAD_ARG}, {"busy", ST_BUSY},
                                                {"eeprom_error", ST_EEPROM_ERROR}};

std::vector<Vector> loadVectors(std::string* error) {
  std::vector<Vector> out;
  std::ifstream in(VECTORS_FILE);
  if (!in) {
    *error = std::string("cannot open ") + VECTORS_FILE;
    return out;
  }
  std::string text;
  int lineno = 0;
  while (std::getline(in, text)) {
    lineno++;
    if (text.empty() || text[0] == '#') continue;
    std::istringstream ss(text);
    Vector v;
    v.line = lineno;
    std::string hexs;
    if (!(ss >> v.name >> v.dir >> hexs >> v.kind)) {
      *error = "line " + std::to_string(lineno) + ": fewer than 4 fields";
      return out;
    }
    v.bytes = unhex(hexs);
    if (v.bytes.empty()) {
      *error = "line " + std::to_string(lineno) + ": bad hex";
      return out;
    }
    std::string kv;
    while (ss >> kv) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos) {
        *error = "line " + std::to_string(lineno) + ": field without '=': " + kv;
        return out;
      }
      v.keys[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    out.push_back(v);
  }
  return out;
}

const std::vector<Vector>& vectors() {
  static std::string error;
  static std::vector<Vector> v = loadVectors(&error);
  if (!error.empty()) {
    std::printf("    golden vectors: %s\n", error.c_str());
    std::exit(2);
  }
  return v;
}

uint32_t num(const std::string& s) { return static_cast<uint32_t>(std::strtoul(s.c_str(), nullptr, 0)); }

uint8_t cmdCode(const std::string& s) {
  auto it = kCmds.find(s);
  if (it != kCmds.end()) return it->second;
  return static_cast<uint8_t>(num(s));  // "0x7f"
}

std::vector<uint8_t> colours(const std::string& list) {
  std::vector<uint8_t> out;
  std::istringstream ss(list);
  std::string c;
  while (std::getline(ss, c, ',')) {
    std::vector<uint8_t> b = unhex(c);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

// Parses the meaning of a d2h ady vector and encodes it with the C++ encoders.
std::vector<uint8_t> encodeMeaning(const Vector& v) {
  const auto& k = v.keys;
  uint8_t cmd = cmdCode(k.at("cmd"));
  std::vector<uint8_t> p = {kStatus.at(k.at("status"))};
  uint8_t buf[32];
  auto fw = [&](const std::string& s, uint8_t* out3) {
    unsigned a = 0, b = 0, c = 0;
    std::sscanf(s.c_str(), "%u.%u.%u", &a, &b, &c);
    out3[0] = static_cast<uint8_t>(a);
    out3[1] = static_cast<uint8_t>(b);
    out3[2] = static_cast<uint8_t>(c);
  };
  if (cmd == EVT_BOOT) {
    uint8_t f[3];
    fw(k.at("fw"), f);
    encodeBoot(static_cast<uint8_t>(num(k.at("reset"))), f[0], f[1], f[2], buf);
    CHECK_EQ(num(k.at("proto")), 1u);
    p.insert(p.end(), buf, buf + 5);
  } else if (cmd == CMD_HELLO && k.count("proto")) {
    Info i;
    uint8_t f[3];
    fw(k.at("fw"), f);
    i.proto = static_cast<uint8_t>(num(k.at("proto")));
    i.fw_major = f[0];
    i.fw_minor = f[1];
    i.fw_patch = f[2];
    i.device_id = static_cast<uint32_t>(std::strtoul(k.at("id").c_str(), nullptr, 16));
    i.led_count = static_cast<uint16_t>(num(k.at("leds")));
    i.led_max = static_cast<uint16_t>(num(k.at("max")));
    i.max_payload = static_cast<uint8_t>(num(k.at("max_payload")));
    i.caps = static_cast<uint16_t>(num(k.at("caps")));
    i.color_order = static_cast<uint8_t>(num(k.at("order")));
    i.reset_cause = static_cast<uint8_t>(num(k.at("reset")));
    i.brightness = static_cast<uint8_t>(num(k.at("brightness")));
    i.power_limit_ma = static_cast<uint16_t>(num(k.at("power_ma")));
    i.stale_after_s = static_cast<uint16_t>(num(k.at("stale_s")));
    i.show_us = static_cast<uint16_t>(num(k.at("show_us")));
    encodeInfo(i, buf);
    p.insert(p.end(), buf, buf + kInfoLen);
  } else if (cmd == CMD_PING && k.count("uptime_ms")) {
    encodePing(num(k.at("uptime_ms")), static_cast<uint8_t>(num(k.at("state"))), buf);
    p.insert(p.end(), buf, buf + 5);
  } else if (cmd == CMD_GET_STATS && k.count("rx_ok")) {
    Stats s;
    s.rx_ok = static_cast<uint16_t>(num(k.at("rx_ok")));
    s.crc_err = static_cast<uint16_t>(num(k.at("crc_err")));
    s.hdr_err = static_cast<uint16_t>(num(k.at("hdr_err")));
    s.len_err = static_cast<uint16_t>(num(k.at("len_err")));
    s.stale_events = static_cast<uint16_t>(num(k.at("stale_events")));
    encodeStats(s, buf);
    p.insert(p.end(), buf, buf + kStatsLen);
  } else if (cmd == CMD_SET_CONFIG && k.count("key")) {
    encodeConfigValue(static_cast<uint8_t>(num(k.at("key"))), num(k.at("value")), buf);
    p.insert(p.end(), buf, buf + 5);
  }
  uint8_t wire_cmd = cmd == EVT_BOOT ? cmd : static_cast<uint8_t>(cmd | kReplyBit);
  std::vector<uint8_t> out(p.size() + kOverhead);
  out.resize(encodeFrame(kMagicReply, static_cast<uint8_t>(num(v.keys.at("seq"))), wire_cmd, p.data(),
                         static_cast<uint8_t>(p.size()), out.data()));
  return out;
}

// Feeds a whole h2d vector to a fresh parser; returns the events, one per byte.
std::vector<Event> parseAll(Parser& p, const std::vector<uint8_t>& bytes) {
  std::vector<Event> ev;
  for (uint8_t b : bytes) ev.push_back(p.feed(b, 0));
  return ev;
}

void checkRequestMeaning(const Vector& v) {
  Parser p;
  std::vector<Event> ev = parseAll(p, v.bytes);
  for (size_t i = 0; i + 1 < ev.size(); i++) CHECK(ev[i] == Event::None);
  CHECK(ev.back() == Event::Request);
  Frame f = p.frame();
  const auto& k = v.keys;
  CHECK_EQ(f.seq, num(k.at("seq")));
  CHECK_EQ(f.cmd, cmdCode(k.at("cmd")));
  switch (f.cmd) {
    case CMD_HELLO: {
      Hello h;
      CHECK_EQ(decodeHello(f, h), ST_OK);
      CHECK_EQ(h.proto_max, num(k.at("proto_max")));
      CHECK_EQ(h.flags, num(k.at("flags")));
      break;
    }
    case CMD_BYE: {
      Bye b;
      CHECK_EQ(decodeBye(f, b), ST_OK);
      CHECK_EQ(b.action, num(k.at("action")));
      break;
    }
    case CMD_SET_PIXELS: {
      SetPixels s;
      CHECK_EQ(decodeSetPixels(f, s), ST_OK);
      CHECK_EQ(s.start, num(k.at("start")));
      CHECK_EQ(s.commit ? 1u : 0u, num(k.at("commit")));
      CHECK_EQ(std::vector<uint8_t>(s.rgb, s.rgb + s.count * 3), colours(k.at("leds")));
      break;
    }
    case CMD_FILL: {
      Fill fl;
      CHECK_EQ(decodeFill(f, fl), ST_OK);
      CHECK_EQ(fl.start, num(k.at("start")));
      CHECK_EQ(fl.count, num(k.at("count")));
      CHECK_EQ((std::vector<uint8_t>{fl.r, fl.g, fl.b}), colours(k.at("rgb")));
      CHECK_EQ(fl.commit ? 1u : 0u, num(k.at("commit")));
      break;
    }
    case CMD_SET_CONFIG: {
      SetConfig c;
      CHECK_EQ(decodeSetConfig(f, c), ST_OK);
      CHECK_EQ(c.key, num(k.at("key")));
      CHECK_EQ(c.value, num(k.at("value")));
      break;
    }
    case CMD_IDENTIFY: {
      Identify id;
      CHECK_EQ(decodeIdentify(f, id), ST_OK);
      CHECK_EQ(id.seconds, num(k.at("seconds")));
      break;
    }
    default:
      CHECK_EQ(f.len, 0);  // ping, commit, save_config, get_stats and the unknown opcode
      break;
  }
}

}  // namespace

TEST(golden_vectors_file_is_well_formed) {
  const auto& vs = vectors();
  CHECK(vs.size() >= 30);
  for (const auto& v : vs) {
    bool dir_ok = v.dir == "h2d" || v.dir == "d2h";
    if (!dir_ok) std::printf("    line %d: bad DIR %s\n", v.line, v.dir.c_str());
    CHECK(dir_ok);
    bool kind_ok = v.kind == "ada" || v.kind == "adx" || v.kind == "ady" || v.kind == "hello_line" ||
                   v.kind == "invalid";
    if (!kind_ok) std::printf("    line %d: bad KIND %s\n", v.line, v.kind.c_str());
    CHECK(kind_ok);
    if (v.kind == "adx" || v.kind == "ady") {
      CHECK(v.keys.count("seq") == 1 && v.keys.count("cmd") == 1);
    }
    if (v.kind == "ady") CHECK(v.keys.count("status") == 1 && kStatus.count(v.keys.at("status")) == 1);
  }
}

TEST(every_h2d_golden_vector_decodes_to_its_meaning) {
  int checked = 0;
  for (const auto& v : vectors()) {
    if (v.dir != "h2d") continue;
    checked++;
    if (v.kind == "ada") {
      std::vector<uint8_t> expect = colours(v.keys.at("leds"));
      std::vector<uint8_t> target(expect.size() + 3, 0xEE);
      Parser p;
      p.setAdaTarget(target.data(), static_cast<uint16_t>(expect.size()));
      std::vector<Event> ev = parseAll(p, v.bytes);
      CHECK(ev.back() == Event::AdaFrame);
      CHECK_EQ(p.adaLedCount(), expect.size() / 3);
      CHECK_EQ(std::vector<uint8_t>(target.begin(), target.begin() + expect.size()), expect);
      CHECK_EQ(target.back(), 0xEE);
    } else if (v.kind == "adx") {
      checkRequestMeaning(v);
    } else if (v.kind == "invalid") {
      Parser p;
      std::vector<Event> ev = parseAll(p, v.bytes);
      const std::string& reason = v.keys.at("reason");
      Event want = reason == "crc" ? Event::CrcError : reason == "header" ? Event::HeaderError : Event::LengthError;
      int hits = 0, accepted = 0;
      for (Event e : ev) {
        if (e == want) hits++;
        if (e == Event::Request || e == Event::AdaFrame) accepted++;
      }
      if (hits != 1) std::printf("    vector %s (line %d) not rejected as %s\n", v.name.c_str(), v.line, reason.c_str());
      CHECK_EQ(hits, 1);
      CHECK_EQ(accepted, 0);
    } else {
      std::printf("    vector %s: h2d with kind %s\n", v.name.c_str(), v.kind.c_str());
      CHECK(false);
    }
  }
  CHECK(checked >= 15);
}

TEST(every_d2h_golden_vector_is_what_the_encoder_makes_of_its_meaning) {
  int checked = 0;
  for (const auto& v : vectors()) {
    if (v.dir != "d2h") continue;
    checked++;
    if (v.kind == "hello_line") {
      CHECK_EQ(v.bytes, (std::vector<uint8_t>{'A', 'd', 'a', '\n'}));
    } else {
      CHECK(v.kind == "ady");
      std::vector<uint8_t> enc = encodeMeaning(v);
      if (enc != v.bytes) std::printf("    vector %s (line %d)\n", v.name.c_str(), v.line);
      CHECK_EQ(enc, v.bytes);
    }
  }
  CHECK(checked >= 15);
}

TEST(replaying_the_golden_vectors_gives_exactly_the_reply_vectors) {
  const auto& vs = vectors();
  test::FakeHal hal;
  Device dev(hal);
  dev.begin(0, 0x01);
  std::vector<uint8_t> boot;
  for (const auto& v : vs) {
    if (v.name == "hello_line" || v.name == "boot") boot.insert(boot.end(), v.bytes.begin(), v.bytes.end());
  }
  CHECK_EQ(hal.take(), boot);
  uint32_t k = 0;
  int replies = 0;
  for (size_t i = 0; i < vs.size(); i++) {
    const Vector& v = vs[i];
    if (v.dir != "h2d") continue;
    uint32_t t = 1000 + 100 * k++;
    dev.poll(t, false);
    for (const auto& it : test::splitOutput(hal.take())) CHECK(it.hello_line);  // heartbeats only
    for (uint8_t b : v.bytes) dev.receive(b, t);
    std::vector<uint8_t> expect;
    if (i + 1 < vs.size() && vs[i + 1].name == v.name + "_reply") {
      expect = vs[i + 1].bytes;
      replies++;
    }
    std::vector<uint8_t> got = hal.take();
    if (got != expect) std::printf("    after vector %s (line %d)\n", v.name.c_str(), v.line);
    CHECK_EQ(got, expect);
  }
  CHECK(replies >= 15);
}
