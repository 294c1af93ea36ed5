/*
 * test_device.cpp - behaviour tests of the parser and the device with a fake clock: resync
 * after garbage and corruption, random chunking, Ada size handling, length errors, stale
 * pattern and timing, BYE actions, identify, brightness cap, power limit, EEPROM record,
 * heartbeats and the render inhibit.
 */
#include <random>

#include "harness.h"

using namespace ledtogo;
using namespace ledtogo::proto;
using test::Rgb;

namespace {

const Rgb kStaleMin = 0x080300;  // A = 8: (8, 8*3/8, 0)

struct Rig {
  test::FakeHal hal;
  Device dev{hal};
  uint32_t now = 0;

  explicit Rig(bool boot = true) {
    if (boot) {
      dev.begin(now, 0x01);
      hal.take();
    }
  }
  void send(const std::vector<uint8_t>& bytes) {
    for (uint8_t b : bytes) dev.receive(b, now);
  }
  // Advances the clock in 10 ms steps, polling like the main loop.
  void advance(uint32_t ms) {
    for (uint32_t t = 0; t < ms; t += 10) {
      now += ms - t < 10 ? ms - t : 10;
      dev.poll(now, false);
    }
  }
  // Sends a request and returns the device's Ady frames (heartbeat lines are skipped).
  std::vector<test::Item> request(uint8_t seq, uint8_t cmd, const std::vector<uint8_t>& payload = {}) {
    send(test::adx(seq, cmd, payload));
    std::vector<test::Item> frames;
    for (auto& it : test::splitOutput(hal.take())) {
      if (!it.hello_line) frames.push_back(it);
    }
    return frames;
  }
  // Sends a request and checks exactly one good reply for it; returns its payload.
  std::vector<uint8_t> ok(uint8_t seq, uint8_t cmd, const std::vector<uint8_t>& payload = {}, uint8_t status = ST_OK) {
    auto r = request(seq, cmd, payload);
    CHECK_EQ(r.size(), 1u);
    if (r.size() != 1) return {};
    CHECK(r[0].crc_ok);
    CHECK_EQ(r[0].seq, seq);
    CHECK_EQ(r[0].cmd, static_cast<uint8_t>(cmd | kReplyBit));
    CHECK(!r[0].payload.empty());
    if (r[0].payload.empty()) return {};
    CHECK_EQ(r[0].payload[0], status);
    return r[0].payload;
  }
  size_t helloLines() {
    size_t n = 0;
    for (auto& it : test::splitOutput(hal.take())) n += it.hello_line ? 1 : 0;
    return n;
  }
};

std::vector<Rgb> solid(size_t n, Rgb c) { return std::vector<Rgb>(n, c); }

std::vector<Rgb> rainbow(size_t n, uint32_t salt = 0) {
  std::vector<Rgb> v;
  for (size_t i = 0; i < n; i++) v.push_back(static_cast<Rgb>((i * 0x1F3D5B + salt * 0x010101) & 0x3F3F3F));
  return v;
}

std::vector<uint8_t> pixelPayload(uint16_t start, bool commit, const std::vector<Rgb>& leds) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(start >> 8), static_cast<uint8_t>(start), commit ? uint8_t(1) : uint8_t(0)};
  for (Rgb c : leds) {
    p.push_back(static_cast<uint8_t>(c >> 16));
    p.push_back(static_cast<uint8_t>(c >> 8));
    p.push_back(static_cast<uint8_t>(c));
  }
  return p;
}

std::vector<uint8_t> configPayload(uint8_t key, uint32_t v) {
  return {key, static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

Rgb staleColour(uint8_t a) { return static_cast<Rgb>(a) << 16 | static_cast<Rgb>(a * 3 / 8) << 8; }

}  // namespace

// ------------------------------------------------------------------ CRC and parser

TEST(crc16_ibm3740_check_value_is_29b1) {
  const uint8_t s[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK_EQ(crc16(s, 9), 0x29B1);
}

TEST(boot_sends_hello_line_then_boot_event_and_shows_black) {
  test::FakeHal hal;
  Device dev(hal);
  dev.begin(0, 0x08);
  auto items = test::splitOutput(hal.take());
  CHECK_EQ(items.size(), 2u);
  if (items.size() != 2) return;
  CHECK(items[0].hello_line);
  CHECK(items[1].crc_ok);
  CHECK_EQ(items[1].seq, 0);
  CHECK_EQ(items[1].cmd, EVT_BOOT);
  CHECK_EQ(items[1].payload, (std::vector<uint8_t>{0, 0x08, 1, FW_VERSION_MAJOR, FW_VERSION_MINOR, FW_VERSION_PATCH}));
  CHECK_EQ(hal.shown.size(), 1u);
  CHECK(hal.lastFrame() == solid(LED_COUNT, 0));
}

TEST(garbage_before_a_frame_is_skipped_and_the_frame_accepted) {
  Rig r;
  // Includes partial magics and a false "Adx" whose header check fails.
  std::vector<uint8_t> junk = {0x00, 'A', 'A', 'd', 'A', 'd', 'z', 'A', 'd', 'x', 0x01, 0x02, 0x03, 0x04, 0xFF};
  r.send(junk);
  auto p = r.ok(7, CMD_PING);
  CHECK_EQ(p.size(), 6u);
  CHECK_EQ(r.dev.stats().hdr_err, 1);
}

TEST(a_false_adx_right_before_a_real_one_is_resynced_after_the_magic) {
  Rig r;
  r.send({'A', 'd', 'x'});  // its "header" is the real frame's first bytes: Adx + seq
  auto p = r.ok(9, CMD_PING);
  CHECK_EQ(r.dev.stats().hdr_err, 1);
  CHECK_EQ(r.dev.stats().rx_ok, 1);
}

TEST(a_bad_ada_header_check_resumes_hunting_after_the_magic) {
  Rig r;
  r.send({'A', 'd', 'a', 0x00, 0x02, 0x00});  // check should be 0x57
  r.send(test::ada(rainbow(16, 3)));
  CHECK_EQ(r.dev.stats().hdr_err, 1);
  CHECK(r.hal.lastFrame() == rainbow(16, 3));
}

TEST(random_bytes_for_a_long_run_never_crash_and_the_link_recovers) {
  Rig r;
  std::mt19937 rng(12345);
  for (int i = 0; i < 300000; i++) {
    r.dev.receive(static_cast<uint8_t>(rng()), r.now);
    if (i % 97 == 0) {
      r.now += rng() % 3;
      r.dev.poll(r.now, false);
    }
    if (r.hal.out.size() > 4096) r.hal.out.clear();
    if (r.hal.shown.size() > 64) r.hal.shown.clear();
  }
  r.hal.take();
  r.advance(Parser::kByteTimeoutMs + 10);  // a host's retry timeout is longer than this
  r.hal.take();
  r.ok(1, CMD_PING);
  r.send(test::ada(rainbow(16, 9)));
  CHECK(r.hal.lastFrame() == rainbow(16, 9));
}

TEST(one_flipped_byte_is_always_rejected_and_the_next_valid_frame_accepted) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  std::mt19937 rng(777);
  int rejected = 0;
  for (int round = 0; round < 2000; round++) {
    uint8_t seq = static_cast<uint8_t>(2 + round % 250);
    std::vector<uint8_t> good = test::adx(seq, CMD_SET_PIXELS, pixelPayload(0, true, rainbow(1 + rng() % 16, round)));
    std::vector<uint8_t> bad = good;
    size_t pos = rng() % bad.size();
    bad[pos] ^= static_cast<uint8_t>(1 + rng() % 255);
    uint16_t rx_before = r.dev.stats().rx_ok;
    size_t shows_before = r.hal.shown.size();
    r.send(bad);
    r.advance(250);  // the host's reply timeout
    auto items = test::splitOutput(r.hal.take());
    bool accepted = r.dev.stats().rx_ok != rx_before || r.hal.shown.size() != shows_before;
    for (auto& it : items) {
      if (!it.hello_line) {
        CHECK(it.crc_ok);
        CHECK(!it.payload.empty() && it.payload[0] == ST_CRC_ERROR);
      }
    }
    CHECK(!accepted);
    if (!accepted) rejected++;
    r.ok(seq, CMD_SET_PIXELS, pixelPayload(0, true, solid(16, 0x010203)));
    CHECK(r.hal.lastFrame() == solid(16, 0x010203));
  }
  CHECK_EQ(rejected, 2000);
}

TEST(random_chunking_with_polls_between_chunks_keeps_every_frame_intact) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  std::mt19937 rng(4242);
  // A stream of alternating SET_PIXELS (two chunks, commit on the second) and Ada frames.
  std::vector<std::vector<Rgb>> expected_frames;
  std::vector<uint8_t> stream;
  uint8_t seq = 2;
  for (int i = 0; i < 300; i++) {
    std::vector<Rgb> f = rainbow(16, static_cast<uint32_t>(i));
    if (i % 2 == 0) {
      std::vector<Rgb> a(f.begin(), f.begin() + 10), b(f.begin() + 10, f.end());
      std::vector<uint8_t> c1 = test::adx(seq++, CMD_SET_PIXELS, pixelPayload(0, false, a));
      std::vector<uint8_t> c2 = test::adx(seq++, CMD_SET_PIXELS, pixelPayload(10, true, b));
      if (seq > 250) seq = 2;
      stream.insert(stream.end(), c1.begin(), c1.end());
      stream.insert(stream.end(), c2.begin(), c2.end());
    } else {
      std::vector<uint8_t> a = test::ada(f);
      stream.insert(stream.end(), a.begin(), a.end());
    }
    expected_frames.push_back(f);
  }
  size_t pos = 0;
  r.hal.shown.clear();
  while (pos < stream.size()) {
    size_t n = 1 + rng() % 64;
    for (size_t i = 0; i < n && pos < stream.size(); i++) r.dev.receive(stream[pos++], r.now);
    r.now += rng() % 5;
    r.dev.poll(r.now, pos < stream.size());
  }
  std::vector<std::vector<Rgb>> shown;
  for (auto& s : r.hal.shown) shown.push_back(test::frameColours(s));
  CHECK_EQ(shown.size(), expected_frames.size());
  CHECK(shown == expected_frames);
  int oks = 0;
  for (auto& it : test::splitOutput(r.hal.take())) {
    if (it.hello_line) continue;
    CHECK(it.crc_ok && it.payload.size() == 1 && it.payload[0] == ST_OK);
    oks++;
  }
  CHECK_EQ(oks, 300);
}

// ------------------------------------------------------------------ Ada frames

TEST(ada_frame_shows_its_colours_and_sends_no_reply) {
  Rig r;
  r.send(test::ada(rainbow(16, 1)));
  CHECK(r.hal.lastFrame() == rainbow(16, 1));
  CHECK(r.hal.take().empty());
  CHECK_EQ(r.dev.state(), STATE_LIVE);
}

TEST(oversize_ada_frame_is_consumed_and_only_led_count_leds_are_used) {
  Rig r;
  r.send(test::ada(rainbow(40, 2)));
  std::vector<Rgb> all = rainbow(40, 2);
  CHECK(r.hal.lastFrame() == std::vector<Rgb>(all.begin(), all.begin() + LED_COUNT));
  r.ok(1, CMD_PING);  // the extra bytes did not eat the next frame
}

TEST(undersize_ada_frame_turns_the_remaining_leds_black) {
  Rig r;
  r.send(test::ada(solid(16, 0x102030)));
  r.send(test::ada(solid(5, 0x405060)));
  std::vector<Rgb> want = solid(16, 0);
  for (int i = 0; i < 5; i++) want[i] = 0x405060;
  CHECK(r.hal.lastFrame() == want);
}

TEST(truncated_frame_is_dropped_after_the_byte_timeout) {
  Rig r;
  std::vector<uint8_t> a = test::ada(solid(16, 0x111111));
  r.send(std::vector<uint8_t>(a.begin(), a.begin() + 20));
  size_t shows = r.hal.shown.size();
  r.advance(Parser::kByteTimeoutMs + 10);
  CHECK_EQ(r.dev.stats().len_err, 1);
  r.ok(1, CMD_PING);
  CHECK_EQ(r.hal.shown.size(), shows + 1);  // PING brought the device live: one show, the frame
}

// ------------------------------------------------------------------ Adx errors

TEST(len_above_max_payload_is_drained_and_answered_bad_length) {
  Rig r;
  std::vector<uint8_t> f = {'A', 'd', 'x', 5, CMD_SET_PIXELS, 200, headerCheck(5, CMD_SET_PIXELS, 200)};
  f.insert(f.end(), 202, 'A');  // payload + CRC; contains magic-like bytes that must not be hunted
  r.send(f);
  auto items = test::splitOutput(r.hal.take());
  CHECK_EQ(items.size(), 1u);
  if (items.size() == 1) {
    CHECK_EQ(items[0].seq, 5);
    CHECK_EQ(items[0].cmd, CMD_SET_PIXELS | kReplyBit);
    CHECK_EQ(items[0].payload, std::vector<uint8_t>{ST_BAD_LENGTH});
  }
  CHECK_EQ(r.dev.stats().len_err, 1);
  r.ok(6, CMD_PING);
}

TEST(max_payload_96_is_accepted) {
  Rig r;
  r.ok(1, CMD_SET_CONFIG, configPayload(KEY_LED_COUNT, 31));
  auto p = pixelPayload(0, true, rainbow(31, 5));
  CHECK_EQ(p.size(), 96u);
  r.ok(2, CMD_SET_PIXELS, p);
  CHECK(r.hal.lastFrame() == rainbow(31, 5));
}

TEST(bad_crc_is_answered_crc_error_for_that_seq_and_changes_nothing) {
  Rig r;
  r.send(test::ada(solid(16, 0x0A0B0C)));
  std::vector<uint8_t> f = test::adx(33, CMD_FILL, {0, 0, 0, 16, 9, 9, 9, 1});
  f[9] ^= 0x40;
  r.send(f);
  auto items = test::splitOutput(r.hal.take());
  CHECK_EQ(items.size(), 1u);
  if (items.size() == 1) {
    CHECK_EQ(items[0].seq, 33);
    CHECK_EQ(items[0].payload, std::vector<uint8_t>{ST_CRC_ERROR});
  }
  CHECK(r.hal.lastFrame() == solid(16, 0x0A0B0C));
  CHECK_EQ(r.dev.stats().crc_err, 1);
}

TEST(unknown_opcode_and_bad_arguments_get_their_status) {
  Rig r;
  r.ok(1, 0x55, {}, ST_UNKNOWN_CMD);
  r.ok(2, CMD_SET_PIXELS, pixelPayload(15, true, solid(2, 0xFFFFFF)), ST_BAD_ARG);
  r.ok(3, CMD_FILL, {0, 10, 0, 7, 1, 2, 3, 1}, ST_BAD_ARG);
  r.ok(4, CMD_SET_CONFIG, configPayload(99, 1), ST_BAD_ARG);
  r.ok(5, CMD_BYE, {3}, ST_BAD_ARG);
  r.ok(6, CMD_HELLO, {0, 0}, ST_BAD_ARG);
  r.ok(7, CMD_SET_PIXELS, {0, 0, 1, 5}, ST_BAD_LENGTH);
  r.ok(8, CMD_SET_CONFIG, {2, 0}, ST_BAD_LENGTH);
  r.ok(9, CMD_HELLO, {1}, ST_BAD_LENGTH);
}

// ------------------------------------------------------------------ pixels and commands

TEST(set_pixels_without_commit_shows_nothing_until_commit) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  size_t shows = r.hal.shown.size();
  r.ok(2, CMD_SET_PIXELS, pixelPayload(0, false, solid(16, 0x203040)));
  r.advance(100);  // less than the staged hold: no show of a half-updated frame
  CHECK_EQ(r.hal.shown.size(), shows);
  r.ok(3, CMD_COMMIT);
  CHECK_EQ(r.hal.shown.size(), shows + 1);
  CHECK(r.hal.lastFrame() == solid(16, 0x203040));
}

TEST(fill_sets_a_range_and_commits) {
  Rig r;
  r.ok(1, CMD_FILL, {0, 0, 0, 16, 0, 0, 0, 0});
  r.ok(2, CMD_FILL, {0, 4, 0, 3, 0x11, 0x22, 0x33, 1});
  std::vector<Rgb> want = solid(16, 0);
  for (int i = 4; i < 7; i++) want[i] = 0x112233;
  CHECK(r.hal.lastFrame() == want);
}

TEST(set_config_clamps_and_replies_the_applied_value) {
  Rig r;
  CHECK_EQ(r.ok(1, CMD_SET_CONFIG, configPayload(KEY_LED_COUNT, 1000)), (std::vector<uint8_t>{0, 1, 0, 0, 0, LED_MAX}));
  CHECK_EQ(r.ok(2, CMD_SET_CONFIG, configPayload(KEY_STALE_AFTER_S, 0)), (std::vector<uint8_t>{0, 4, 0, 0, 0, 1}));
  CHECK_EQ(r.ok(3, CMD_SET_CONFIG, configPayload(KEY_BRIGHTNESS, 300)), (std::vector<uint8_t>{0, 2, 0, 0, 0, 255}));
  CHECK_EQ(r.ok(4, CMD_SET_CONFIG, configPayload(KEY_POWER_LIMIT_MA, 5)), (std::vector<uint8_t>{0, 3, 0, 0, 0, 100}));
  CHECK_EQ(r.dev.config().led_count, LED_MAX);
}

TEST(hello_reply_is_info_and_starts_a_session_without_heartbeats) {
  Rig r;
  r.advance(1000);
  CHECK_EQ(r.helloLines(), 1u);
  auto p = r.ok(1, CMD_HELLO, {1, 0});
  CHECK_EQ(p.size(), 25u);
  if (p.size() != 25) return;
  CHECK_EQ(p[1], 1);                                  // proto
  CHECK_EQ(getU32(&p[5]), 0x3F9A2C1Bu);                // device id from first boot
  CHECK_EQ(getU16(&p[9]), LED_COUNT);
  CHECK_EQ(getU16(&p[11]), LED_MAX);
  CHECK_EQ(p[13], 96);
  CHECK_EQ(getU16(&p[14]), 0x000F);
  CHECK_EQ(p[16], LED_COLOR_ORDER);
  CHECK_EQ(getU16(&p[23]), 30 * LED_COUNT + 300);
  CHECK(r.dev.sessionActive());
  for (int i = 0; i < 4; i++) {
    r.advance(900);
    r.ok(static_cast<uint8_t>(2 + i), CMD_PING);
  }
  CHECK_EQ(r.helloLines(), 0u);
}

TEST(heartbeat_every_second_while_no_session) {
  Rig r;
  r.advance(5500);
  CHECK_EQ(r.helloLines(), 5u);
}

TEST(identify_blinks_white_and_black_then_returns_to_the_frame) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  r.ok(2, CMD_SET_PIXELS, pixelPayload(0, true, rainbow(16, 4)));
  r.ok(3, CMD_SET_CONFIG, configPayload(KEY_POWER_LIMIT_MA, 10000));
  r.ok(4, CMD_IDENTIFY, {2});
  CHECK(r.hal.lastFrame() == solid(16, 0xFFFFFF));  // shown before the reply
  r.advance(260);
  CHECK(r.hal.lastFrame() == solid(16, 0x000000));
  r.advance(250);
  CHECK(r.hal.lastFrame() == solid(16, 0xFFFFFF));
  r.ok(5, CMD_PING);
  r.advance(1600);
  CHECK(!r.dev.identifying());
  CHECK(r.hal.lastFrame() == rainbow(16, 4));
}

// ------------------------------------------------------------------ stale

TEST(stale_after_timeout_shows_the_exact_amber_breathing_pattern) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  r.ok(2, CMD_FILL, {0, 0, 0, 16, 0, 255, 0, 1});  // all green
  uint32_t t0 = r.now;
  r.advance(STALE_AFTER_S * 1000 - 10);
  CHECK_EQ(r.dev.state(), STATE_LIVE);
  CHECK(r.hal.lastFrame() == solid(16, 0x00FF00));
  r.advance(10);
  CHECK_EQ(r.now - t0, STALE_AFTER_S * 1000u);
  CHECK_EQ(r.dev.state(), STATE_STALE);
  CHECK(!r.dev.sessionActive());
  CHECK(r.hal.lastFrame() == solid(16, kStaleMin));
  CHECK_EQ(r.dev.stats().stale_events, 1);
  // Every later frame is (A, A*3/8, 0) with A from the 8 -> 48 -> 8 triangle over 4 s.
  size_t from = r.hal.shown.size();
  r.advance(1000);
  CHECK(r.hal.lastFrame() == solid(16, staleColour(28)));
  r.advance(1000);
  CHECK(r.hal.lastFrame() == solid(16, staleColour(48)));
  r.advance(2000);
  CHECK(r.hal.lastFrame() == solid(16, kStaleMin));
  bool all_pattern = true;
  for (size_t i = from; i < r.hal.shown.size(); i++) {
    auto f = test::frameColours(r.hal.shown[i]);
    uint8_t a = static_cast<uint8_t>(f[0] >> 16);
    all_pattern = all_pattern && a >= 8 && a <= 48 && f == solid(16, staleColour(a));
  }
  CHECK(all_pattern);
  CHECK(r.hal.shown.size() - from >= 70);  // it breathes (about one step every 50 ms)
  CHECK_EQ(Device::staleLevel(0), 8);
  CHECK_EQ(Device::staleLevel(500), 18);
  CHECK_EQ(Device::staleLevel(2000), 48);
  CHECK_EQ(Device::staleLevel(3000), 28);
  CHECK_EQ(Device::staleLevel(4000), 8);
  CHECK(r.helloLines() >= 3u);  // the session ended: heartbeats are back
}

TEST(stale_turns_off_after_30_minutes_and_a_valid_frame_brings_it_back) {
  Rig r;
  r.send(test::ada(solid(16, 0x00FF00)));
  r.advance(STALE_AFTER_S * 1000);
  CHECK_EQ(r.dev.state(), STATE_STALE);
  r.now += OFF_AFTER_STALE_S * 1000ul - 100;
  r.dev.poll(r.now, false);
  CHECK_EQ(r.dev.state(), STATE_STALE);
  r.advance(100);
  CHECK_EQ(r.dev.state(), STATE_OFF);
  CHECK(r.hal.lastFrame() == solid(16, 0));
  auto p = r.ok(1, CMD_PING);
  CHECK_EQ(p.size(), 6u);
  if (p.size() == 6) CHECK_EQ(p[5], STATE_LIVE);
  CHECK(r.hal.lastFrame() == solid(16, 0x00FF00));  // PING revived the frame before replying
}

TEST(stale_timer_uses_the_configured_stale_after_s) {
  Rig r;
  r.ok(1, CMD_SET_CONFIG, configPayload(KEY_STALE_AFTER_S, 2));
  r.advance(1990);
  CHECK_EQ(r.dev.state(), STATE_LIVE);
  r.advance(10);
  CHECK_EQ(r.dev.state(), STATE_STALE);
}

TEST(no_stale_before_the_first_valid_frame) {
  Rig r;
  r.advance(20000);
  CHECK_EQ(r.dev.state(), STATE_OFF);
  CHECK_EQ(r.hal.shown.size(), 1u);  // only the boot frame
}

TEST(animation_never_starts_a_show_while_a_frame_is_being_received) {
  Rig r;
  r.send(test::ada(solid(16, 0x123456)));
  r.advance(STALE_AFTER_S * 1000 + 100);
  CHECK_EQ(r.dev.state(), STATE_STALE);
  std::vector<uint8_t> f = test::ada(solid(16, 0x654321));
  size_t shows = r.hal.shown.size();
  for (uint8_t b : f) {
    r.dev.receive(b, r.now);
    r.now += 30;  // slow sender; the stale level changes every 50 ms
    r.dev.poll(r.now, false);
  }
  CHECK_EQ(r.hal.shown.size(), shows + 1);  // just the Ada frame itself
  CHECK(r.hal.lastFrame() == solid(16, 0x654321));
}

// ------------------------------------------------------------------ BYE

TEST(bye_0_goes_stale_now_and_shows_the_pattern_before_replying) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  r.ok(2, CMD_FILL, {0, 0, 0, 16, 0, 255, 0, 1});
  r.ok(3, CMD_BYE, {0});
  CHECK_EQ(r.dev.state(), STATE_STALE);
  CHECK(!r.dev.sessionActive());
  CHECK(r.hal.lastFrame() == solid(16, kStaleMin));
  CHECK_EQ(r.dev.stats().stale_events, 1);
  r.advance(1000);
  CHECK_EQ(r.helloLines(), 1u);
}

TEST(bye_1_blanks_and_stays_off) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  r.ok(2, CMD_FILL, {0, 0, 0, 16, 0, 255, 0, 1});
  r.ok(3, CMD_BYE, {1});
  CHECK_EQ(r.dev.state(), STATE_OFF);
  CHECK(r.hal.lastFrame() == solid(16, 0));
  size_t shows = r.hal.shown.size();
  r.advance(30000);
  CHECK_EQ(r.hal.shown.size(), shows);
  CHECK_EQ(r.dev.stats().stale_events, 0);
}

TEST(bye_2_keeps_colours_without_watchdog_until_the_next_frame) {
  Rig r;
  r.ok(1, CMD_HELLO, {1, 0});
  r.ok(2, CMD_FILL, {0, 0, 0, 16, 0, 0, 255, 1});
  r.ok(3, CMD_BYE, {2});
  r.advance(60000);
  CHECK_EQ(r.dev.state(), STATE_LIVE);
  CHECK(r.hal.lastFrame() == solid(16, 0x0000FF));
  CHECK(!r.dev.sessionActive());
  CHECK(r.helloLines() >= 59u);
  r.send(test::ada(solid(16, 0x0000FF)));  // a new frame re-arms the watchdog
  r.advance(STALE_AFTER_S * 1000);
  CHECK_EQ(r.dev.state(), STATE_STALE);
}

// ------------------------------------------------------------------ brightness and power

TEST(brightness_cap_scales_every_channel) {
  Rig r;
  r.ok(1, CMD_SET_CONFIG, configPayload(KEY_BRIGHTNESS, 128));
  r.ok(2, CMD_FILL, {0, 0, 0, 2, 255, 100, 2, 1});
  auto f = r.hal.lastFrame();
  CHECK_EQ(f[0], (Rgb(128) << 16 | Rgb(50) << 8 | 1));  // c * (128 + 1) >> 8
  r.ok(3, CMD_SET_CONFIG, configPayload(KEY_BRIGHTNESS, 0));
  r.ok(4, CMD_COMMIT);
  CHECK(r.hal.lastFrame() == solid(16, 0));
  r.ok(5, CMD_SET_CONFIG, configPayload(KEY_BRIGHTNESS, 255));
  r.ok(6, CMD_COMMIT);
  CHECK_EQ(r.hal.lastFrame()[0], 0xFF6402u);  // 255 is the identity
}

TEST(power_limit_scales_a_white_frame_under_the_budget) {
  Rig r;
  r.ok(1, CMD_FILL, {0, 0, 0, 16, 255, 255, 255, 1});
  auto f = r.hal.lastFrame();
  std::vector<uint8_t> bytes = r.hal.shown.back();
  uint32_t ma = Device::estimateMa(bytes.data(), 16);
  CHECK(ma <= POWER_LIMIT_MA);
  CHECK(ma >= POWER_LIMIT_MA * 95 / 100);  // scaled, not blanked
  CHECK_EQ(f[0], 0x727272u);               // 450 mA - 16 idle over 960 mA of white -> 114
  CHECK(f == solid(16, f[0]));
  // Colour ratios survive the scaling.
  r.ok(2, CMD_FILL, {0, 0, 0, 16, 255, 128, 0, 1});
  std::vector<uint8_t> b2 = r.hal.shown.back();
  CHECK(Device::estimateMa(b2.data(), 16) <= POWER_LIMIT_MA);
  int rr = b2[0], gg = b2[1];
  CHECK(rr > 0 && std::abs(gg * 2 - rr) <= 2);
  // A dim frame under the budget is untouched.
  r.ok(3, CMD_FILL, {0, 0, 0, 16, 40, 40, 40, 1});
  CHECK(r.hal.lastFrame() == solid(16, 0x282828));
}

TEST(power_limit_follows_set_config_and_led_count) {
  Rig r;
  r.ok(1, CMD_SET_CONFIG, configPayload(KEY_LED_COUNT, LED_MAX));
  r.ok(2, CMD_SET_CONFIG, configPayload(KEY_POWER_LIMIT_MA, 2000));
  r.ok(3, CMD_FILL, {0, 0, 0, LED_MAX, 255, 255, 255, 1});
  std::vector<uint8_t> b = r.hal.shown.back();
  CHECK_EQ(b.size(), LED_MAX * 3u);
  uint32_t ma = Device::estimateMa(b.data(), LED_MAX);
  CHECK(ma <= 2000 && ma >= 1900);
  // Limit below the idle current of the strip: everything dark.
  uint8_t frame[6] = {255, 255, 255, 255, 255, 255};
  Device::limitFrame(frame, 2, 255, 1);
  for (uint8_t c : frame) CHECK_EQ(c, 0);
}

TEST(shrinking_led_count_blanks_the_cut_off_leds_once) {
  Rig r;
  r.ok(1, CMD_FILL, {0, 0, 0, 16, 9, 9, 9, 1});
  r.ok(2, CMD_SET_CONFIG, configPayload(KEY_LED_COUNT, 4));
  r.ok(3, CMD_COMMIT);
  std::vector<Rgb> want = solid(16, 0);
  for (int i = 0; i < 4; i++) want[i] = 0x090909;
  CHECK(r.hal.lastFrame() == want);
  r.ok(4, CMD_COMMIT);
  CHECK(r.hal.lastFrame() == solid(4, 0x090909));
}

// ------------------------------------------------------------------ EEPROM

TEST(first_boot_writes_the_record_once_and_later_boots_keep_the_id) {
  test::FakeHal hal;
  {
    Device dev(hal);
    dev.begin(0, 1);
    CHECK_EQ(hal.eeprom_writes, 1);
    CHECK_EQ(dev.deviceId(), 0x3F9A2C1Bu);
  }
  hal.entropy_value = 0x12345678;
  {
    Device dev(hal);
    dev.begin(0, 1);
    CHECK_EQ(hal.eeprom_writes, 1);  // nothing written on a normal boot
    CHECK_EQ(dev.deviceId(), 0x3F9A2C1Bu);
  }
}

TEST(save_config_persists_and_ram_only_changes_do_not) {
  test::FakeHal hal;
  {
    Device dev(hal);
    dev.begin(0, 1);
    hal.take();
    for (auto& b : test::adx(1, CMD_SET_CONFIG, configPayload(KEY_BRIGHTNESS, 77))) dev.receive(b, 10);
    CHECK_EQ(hal.eeprom_writes, 1);
    for (auto& b : test::adx(2, CMD_SAVE_CONFIG, {})) dev.receive(b, 20);
    CHECK_EQ(hal.eeprom_writes, 2);
    for (auto& b : test::adx(3, CMD_SET_CONFIG, configPayload(KEY_STALE_AFTER_S, 9))) dev.receive(b, 30);
  }
  Device dev(hal);
  dev.begin(0, 1);
  CHECK_EQ(dev.config().brightness, 77);
  CHECK_EQ(dev.config().stale_after_s, STALE_AFTER_S);
  CHECK_EQ(hal.eeprom_writes, 2);
}

TEST(corrupt_eeprom_record_falls_back_to_defaults_with_a_new_id) {
  test::FakeHal hal;
  {
    Device dev(hal);
    dev.begin(0, 1);
  }
  hal.eeprom[10] ^= 0x01;  // brightness byte, CRC no longer matches
  hal.entropy_value = 0;   // also: an unusable entropy value still gives a valid id
  Device dev(hal);
  dev.begin(0, 1);
  CHECK_EQ(dev.config().brightness, DEFAULT_BRIGHTNESS);
  CHECK(dev.deviceId() != 0 && dev.deviceId() != 0xFFFFFFFFu);
  CHECK_EQ(hal.eeprom_writes, 2);
}

TEST(failed_eeprom_write_is_answered_eeprom_error) {
  Rig r;
  r.hal.fail_writes = true;
  r.ok(1, CMD_SAVE_CONFIG, {}, ST_EEPROM_ERROR);
}

TEST(get_stats_counts_every_kind_of_error) {
  Rig r;
  r.send(test::ada(solid(16, 1)));
  r.send({'A', 'd', 'a', 1, 2, 3});                      // header error
  std::vector<uint8_t> bad = test::adx(2, CMD_PING, {});
  bad.back() ^= 1;
  r.send(bad);                                            // crc error
  r.send({'A', 'd', 'x', 3, 1, 97, headerCheck(3, 1, 97)});
  r.send(std::vector<uint8_t>(99, 0));                    // length error
  r.hal.take();
  auto p = r.ok(4, CMD_GET_STATS);
  CHECK_EQ(p, (std::vector<uint8_t>{0, 0, 2, 0, 1, 0, 1, 0, 1, 0, 0}));
}

TEST(parser_reports_each_event_exactly_on_the_last_byte_of_its_frame) {
  Parser p;
  uint8_t target[48] = {0};
  p.setAdaTarget(target, sizeof target);
  std::vector<uint8_t> too_long = {'A', 'd', 'x', 1, CMD_FILL, 97, headerCheck(1, CMD_FILL, 97)};
  too_long.insert(too_long.end(), 99, 0x41);
  std::vector<uint8_t> bad_crc = test::adx(2, CMD_PING, {});
  bad_crc.back() ^= 0x80;
  const std::vector<std::pair<std::vector<uint8_t>, Event>> cases = {
      {too_long, Event::LengthError},
      {bad_crc, Event::CrcError},
      {test::adx(3, CMD_IDENTIFY, {1}), Event::Request},
      {test::ada(solid(16, 0x010203)), Event::AdaFrame},
  };
  for (const auto& c : cases) {
    for (size_t i = 0; i < c.first.size(); i++) {
      Event e = p.feed(c.first[i], 0);
      CHECK(e == (i + 1 == c.first.size() ? c.second : Event::None));
    }
    CHECK(p.idle());
  }
}
