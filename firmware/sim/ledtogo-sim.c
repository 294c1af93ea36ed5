/*
 * ledtogo-sim.c - runs the ledtogo firmware ELF in simavr (atmega328p, 16 MHz) like an Uno on a
 * USB port: UART0 is bridged to a pseudo-terminal (PATH is a symlink to its slave side), the
 * MCU starts when a client opens the pty and resets on every later open (DTR auto-reset), the
 * simulation is throttled to real time, and the WS2812 data pin (D6 = PD6) is decoded by edge
 * timing into one "FRAME ..." line per latch on stdout.
 *
 * Usage: ledtogo-sim ELF --link PATH [--drop-rx-while-cli]
 *   --drop-rx-while-cli  model the Uno's 2-byte receive FIFO: while interrupts stay disabled,
 *                        only the first 2 bytes that arrive are kept, later ones are dropped.
 * Stdout: "READY PATH", then "FRAME t_ms=.. n=.. rrggbb ... t0h_ns=.. t1h_ns=.. bit_ns=..".
 * Stops cleanly on SIGTERM/SIGINT or when stdin closes; a stats line goes to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_ioport.h>
#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_elf.h>
#include <sim_io.h>
#include <sim_irq.h>

#define MCU_NAME "atmega328p"
#define MCU_FREQ 16000000u
#define BAUD 115200u
#define WS_PORT 'D'
#define WS_PIN 6
#define WS_ONE_MIN_NS 550     /* a high pulse this long or longer is a 1 bit */
#define WS_LATCH_NS 50000     /* line low this long ends a frame */
#define WS_MAX_BYTES 4096
#define OPEN_DELAY_MS 50      /* client open -> MCU start (lets it set raw mode; the Uno's
                                 bootloader also eats the first bytes) */
#define CLI_FIFO_BYTES 2
#define IO_QUEUE 65536

static volatile sig_atomic_t g_stop;

static avr_t *g_avr;
static int g_master = -1;
static char g_link[4096];
static char g_slave_name[256];
static int g_drop_cli;

/* UART bridge state */
static uint8_t g_rxq[IO_QUEUE]; /* host -> MCU bytes waiting for the wire */
static size_t g_rx_head, g_rx_len;
static uint8_t g_txq[IO_QUEUE]; /* MCU -> host bytes waiting for the pty */
static size_t g_tx_len;
static int g_uart_xoff;
static avr_cycle_count_t g_next_rx_cycle;
static avr_cycle_count_t g_byte_cycles;
static int g_in_cli;
static unsigned g_cli_pushes;
static unsigned long g_rx_total, g_tx_total, g_rx_dropped;

/* WS2812 decoder state */
static struct {
  int level;
  avr_cycle_count_t rise, last_rise, last_fall;
  uint8_t bytes[WS_MAX_BYTES];
  size_t nbits;
  avr_cycle_count_t t0h_max, t1h_max, bit_min;
  unsigned long frames;
} g_ws;

static avr_cycle_count_t g_start_cycle; /* cycle of the last MCU (re)start */

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static void logger(avr_t *avr, const int level, const char *fmt, va_list ap) {
  (void)avr;
  if (level > LOG_WARNING) return;
  fputs("simavr: ", stderr);
  vfprintf(stderr, fmt, ap);
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cycles_to_ns(avr_cycle_count_t c) { return (uint64_t)c * 1000000000ull / MCU_FREQ; }

/* ------------------------------------------------------------------ UART bridge */

static void uart_out_hook(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  g_tx_total++;
  if (g_tx_len < IO_QUEUE) g_txq[g_tx_len++] = (uint8_t)value;
}

static void uart_xon_hook(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  g_uart_xoff = 0;
}

static void uart_xoff_hook(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)value;
  (void)param;
  g_uart_xoff = 1;
}

/* One byte per byte-time of simulated time, like a wire at 115200 8N1. */
static void uart_push_if_due(void) {
  if (g_rx_len == 0 || g_uart_xoff || g_avr->cycle < g_next_rx_cycle) return;
  uint8_t b = g_rxq[g_rx_head];
  g_rx_head = (g_rx_head + 1) % IO_QUEUE;
  g_rx_len--;
  g_next_rx_cycle = g_avr->cycle + g_byte_cycles;
  if (g_drop_cli && g_in_cli) {
    if (g_cli_pushes >= CLI_FIFO_BYTES) {
      g_rx_dropped++;
      return;
    }
    g_cli_pushes++;
  }
  g_rx_total++;
  avr_raise_irq(avr_io_getirq(g_avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), b);
}

static void uart_quiet_console(void) {
  uint32_t flags = 0;
  avr_ioctl(g_avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~AVR_UART_FLAG_STDIO;
  avr_ioctl(g_avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
}

/* ------------------------------------------------------------------ WS2812 decoder */

static void ws_reset(void) {
  g_ws.nbits = 0;
  g_ws.t0h_max = g_ws.t1h_max = 0;
  g_ws.bit_min = 0;
}

static void ws_emit(void) {
  size_t nbytes = g_ws.nbits / 8;
  size_t n = nbytes / 3;
  printf("FRAME t_ms=%llu n=%zu", (unsigned long long)(cycles_to_ns(g_ws.last_fall - g_start_cycle) / 1000000ull), n);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = g_ws.bytes + i * 3; /* wire order G R B */
    printf(" %02x%02x%02x", p[1], p[0], p[2]);
  }
  printf(" t0h_ns=%llu t1h_ns=%llu bit_ns=%llu", (unsigned long long)cycles_to_ns(g_ws.t0h_max),
         (unsigned long long)cycles_to_ns(g_ws.t1h_max), (unsigned long long)cycles_to_ns(g_ws.bit_min));
  if (g_ws.nbits % 24 != 0) printf(" partial_bits=%zu", g_ws.nbits % 24);
  printf("\n");
  fflush(stdout);
  g_ws.frames++;
  ws_reset();
}

static void ws_pin_hook(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  (void)param;
  int level = value ? 1 : 0;
  if (level == g_ws.level) return;
  g_ws.level = level;
  avr_cycle_count_t now = g_avr->cycle;
  if (level) {
    if (g_ws.nbits > 0 && cycles_to_ns(now - g_ws.last_fall) >= WS_LATCH_NS) ws_emit();
    if (g_ws.nbits > 0) {
      avr_cycle_count_t period = now - g_ws.last_rise;
      if (g_ws.bit_min == 0 || period < g_ws.bit_min) g_ws.bit_min = period;
    }
    g_ws.rise = now;
    g_ws.last_rise = now;
  } else {
    avr_cycle_count_t high = now - g_ws.rise;
    int one = cycles_to_ns(high) >= WS_ONE_MIN_NS;
    if (one && high > g_ws.t1h_max) g_ws.t1h_max = high;
    if (!one && high > g_ws.t0h_max) g_ws.t0h_max = high;
    if (g_ws.nbits < WS_MAX_BYTES * 8) {
      size_t byte = g_ws.nbits / 8;
      if (g_ws.nbits % 8 == 0) g_ws.bytes[byte] = 0;
      if (one) g_ws.bytes[byte] |= (uint8_t)(0x80 >> (g_ws.nbits % 8));
      g_ws.nbits++;
    }
    g_ws.last_fall = now;
  }
}

/* ------------------------------------------------------------------ pty */

/* 1: a client has the slave open, 0: nobody, -1: error. */
static int client_present(void) {
  struct pollfd p = {.fd = g_master, .events = POLLIN};
  if (poll(&p, 1, 0) < 0) return errno == EINTR ? 1 : -1;
  return (p.revents & POLLHUP) ? 0 : 1;
}

static void pty_read(int keep) {
  uint8_t buf[1024];
  for (;;) {
    ssize_t n = read(g_master, buf, sizeof buf);
    if (n <= 0) return; /* EAGAIN, or EIO when no client */
    for (ssize_t i = 0; i < n && keep; i++) {
      if (g_rx_len == IO_QUEUE) break;
      g_rxq[(g_rx_head + g_rx_len) % IO_QUEUE] = buf[i];
      g_rx_len++;
    }
  }
}

static void pty_flush(int present) {
  if (!present) {
    g_tx_len = 0;
    return;
  }
  size_t off = 0;
  while (off < g_tx_len) {
    ssize_t n = write(g_master, g_txq + off, g_tx_len - off);
    if (n <= 0) break;
    off += (size_t)n;
  }
  memmove(g_txq, g_txq + off, g_tx_len - off);
  g_tx_len -= off;
}

static int pty_create(void) {
  int slave;
  if (openpty(&g_master, &slave, g_slave_name, NULL, NULL) != 0) {
    fprintf(stderr, "ledtogo-sim: openpty failed: %s\n", strerror(errno));
    return -1;
  }
  struct termios tio;
  if (tcgetattr(slave, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
  }
  close(slave); /* POLLHUP on the master now tells whether a client has it open */
  fcntl(g_master, F_SETFL, fcntl(g_master, F_GETFL) | O_NONBLOCK);
  struct stat st;
  if (lstat(g_link, &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      fprintf(stderr, "ledtogo-sim: --link %s exists and is not a symlink; refusing to replace it\n", g_link);
      return -1;
    }
    unlink(g_link);
  }
  if (symlink(g_slave_name, g_link) != 0) {
    fprintf(stderr, "ledtogo-sim: cannot create symlink --link %s -> %s: %s\n", g_link, g_slave_name,
            strerror(errno));
    return -1;
  }
  return 0;
}

static void pty_cleanup(void) {
  char target[256];
  ssize_t n = readlink(g_link, target, sizeof target - 1);
  if (n > 0) {
    target[n] = 0;
    if (strcmp(target, g_slave_name) == 0) unlink(g_link);
  }
  if (g_master >= 0) close(g_master);
}

/* ------------------------------------------------------------------ main loop */

static void usage(FILE *f) {
  fprintf(f, "usage: ledtogo-sim ELF --link PATH [--drop-rx-while-cli]\n");
}

static void mcu_start(int reset) {
  if (reset) avr_reset(g_avr);
  uart_quiet_console();
  g_rx_head = g_rx_len = 0;
  g_tx_len = 0;
  g_uart_xoff = 0;
  g_in_cli = 0;
  g_next_rx_cycle = g_avr->cycle;
  g_start_cycle = g_avr->cycle;
  ws_reset();
}

int main(int argc, char **argv) {
  const char *elf = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--link") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "ledtogo-sim: --link needs a PATH\n");
        usage(stderr);
        return 2;
      }
      snprintf(g_link, sizeof g_link, "%s", argv[++i]);
    } else if (strcmp(argv[i], "--drop-rx-while-cli") == 0) {
      g_drop_cli = 1;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "ledtogo-sim: unknown option '%s' (argument %d)\n", argv[i], i);
      usage(stderr);
      return 2;
    } else if (elf == NULL) {
      elf = argv[i];
    } else {
      fprintf(stderr, "ledtogo-sim: unexpected argument '%s' (argument %d): only one ELF\n", argv[i], i);
      usage(stderr);
      return 2;
    }
  }
  if (elf == NULL || g_link[0] == 0) {
    fprintf(stderr, "ledtogo-sim: %s is required\n", elf == NULL ? "the firmware ELF" : "--link PATH");
    usage(stderr);
    return 2;
  }

  avr_global_logger_set(logger);
  elf_firmware_t fw;
  memset(&fw, 0, sizeof fw);
  if (access(elf, R_OK) != 0 || elf_read_firmware(elf, &fw) != 0) {
    fprintf(stderr, "ledtogo-sim: cannot load firmware ELF '%s' (%s); build it with 'make -C firmware'\n", elf,
            access(elf, R_OK) != 0 ? strerror(errno) : "not a valid AVR ELF");
    return 1;
  }
  g_avr = avr_make_mcu_by_name(MCU_NAME);
  if (g_avr == NULL) {
    fprintf(stderr, "ledtogo-sim: simavr has no %s core\n", MCU_NAME);
    return 1;
  }
  avr_init(g_avr);
  g_avr->frequency = MCU_FREQ;
  avr_load_firmware(g_avr, &fw);
  g_avr->frequency = MCU_FREQ;
  g_avr->vcc = g_avr->avcc = g_avr->aref = 5000; /* the firmware reads the ADC for entropy */
  g_byte_cycles = (avr_cycle_count_t)MCU_FREQ * 10u / BAUD;

  avr_irq_register_notify(avr_io_getirq(g_avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out_hook, NULL);
  avr_irq_register_notify(avr_io_getirq(g_avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), uart_xon_hook, NULL);
  avr_irq_register_notify(avr_io_getirq(g_avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), uart_xoff_hook, NULL);
  avr_irq_register_notify(avr_io_getirq(g_avr, AVR_IOCTL_IOPORT_GETIRQ(WS_PORT), WS_PIN), ws_pin_hook, NULL);
  uart_quiet_console();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (pty_create() != 0) return 1;
  printf("READY %s\n", g_link);
  fflush(stdout);

  int running = 0;     /* MCU started (first client open) */
  int present = 0;     /* a client has the pty open */
  uint64_t open_seen_ns = 0;
  int pending_start = 0;
  uint64_t anchor_wall = 0;
  avr_cycle_count_t anchor_cycle = 0;
  const avr_cycle_count_t slice = MCU_FREQ / 1000u; /* 1 ms */
  const avr_cycle_count_t latch_cycles = (avr_cycle_count_t)((uint64_t)WS_LATCH_NS * MCU_FREQ / 1000000000ull);
  int exit_code = 0;

  while (!g_stop) {
    /* stdin closed -> exit */
    struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
    if (poll(&in, 1, 0) > 0) {
      char tmp[256];
      if (in.revents & (POLLIN | POLLHUP)) {
        ssize_t n = read(STDIN_FILENO, tmp, sizeof tmp);
        if (n <= 0) break;
      }
    }
    int now_present = client_present();
    if (now_present < 0) {
      fprintf(stderr, "ledtogo-sim: poll on the pty failed: %s\n", strerror(errno));
      exit_code = 1;
      break;
    }
    if (now_present && !present) {
      open_seen_ns = wall_ns();
      pending_start = 1;
    }
    present = now_present;
    if (pending_start) {
      pty_read(0); /* like the bootloader window: early bytes are lost */
      if (!present) {
        pending_start = 0;
      } else if (wall_ns() - open_seen_ns >= OPEN_DELAY_MS * 1000000ull) {
        pending_start = 0;
        mcu_start(running);
        if (running) fprintf(stderr, "ledtogo-sim: client opened the port, MCU reset\n");
        running = 1;
        anchor_wall = wall_ns();
        anchor_cycle = g_avr->cycle;
      }
    }
    if (!running || pending_start) {
      struct timespec ts = {0, 2000000};
      nanosleep(&ts, NULL);
      continue;
    }

    /* run 1 ms of simulated time */
    avr_cycle_count_t end = g_avr->cycle + slice;
    while (g_avr->cycle < end) {
      int st = avr_run(g_avr);
      if (st == cpu_Done || st == cpu_Crashed) {
        fprintf(stderr, "ledtogo-sim: the MCU %s at sim_ms=%llu\n", st == cpu_Done ? "stopped" : "crashed",
                (unsigned long long)(cycles_to_ns(g_avr->cycle - g_start_cycle) / 1000000ull));
        g_stop = 1;
        exit_code = 1;
        break;
      }
      if (g_avr->sreg[S_I]) {
        g_in_cli = 0;
      } else if (!g_in_cli) {
        g_in_cli = 1;
        g_cli_pushes = 0;
      }
      uart_push_if_due();
      if (g_ws.nbits > 0 && !g_ws.level && g_avr->cycle - g_ws.last_fall >= latch_cycles) ws_emit();
    }

    pty_flush(present);
    if (present) pty_read(1);

    /* throttle: simulated time never runs ahead of wall time */
    uint64_t sim = cycles_to_ns(g_avr->cycle - anchor_cycle);
    uint64_t wall = wall_ns() - anchor_wall;
    if (sim > wall + 1000000ull) {
      uint64_t d = sim - wall;
      struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
      nanosleep(&ts, NULL);
    } else if (wall > sim + 50000000ull) {
      /* fell behind (busy machine): do not sprint to catch up */
      anchor_wall = wall_ns();
      anchor_cycle = g_avr->cycle;
    }
  }

  fprintf(stderr, "ledtogo-sim: sim_ms=%llu rx=%lu tx=%lu rx_dropped=%lu frames=%lu\n",
          (unsigned long long)(cycles_to_ns(g_avr->cycle - g_start_cycle) / 1000000ull), g_rx_total, g_tx_total,
          g_rx_dropped, g_ws.frames);
  pty_cleanup();
  return exit_code;
}
