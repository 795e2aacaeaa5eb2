/*
 * Test support shared by the core's GoogleTest files.
 *
 * FailingMem: an m6ike_mem that counts allocations and fails the Nth one
 * (fail_at = N, 0 = never), and tracks live blocks so a test can assert
 * nothing leaked.  Use with a loop that fails the 1st, 2nd, ... allocation
 * of a whole operation until it runs without a failure.
 */
#ifndef M6IKE_TEST_UTIL_H
#define M6IKE_TEST_UTIL_H

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "m6ike/common.h"

struct FailingMem {
  m6ike_mem mem;
  size_t calls = 0;   // allocation calls so far
  size_t fail_at = 0; // 1-based call number to fail, 0 = never
  long live = 0;      // blocks allocated and not freed

  FailingMem() {
    mem.user_data = this;
    mem.malloc = [](size_t n, void *ud) -> void * {
      auto *self = static_cast<FailingMem *>(ud);
      if (self->fail_now()) return nullptr;
      void *p = std::malloc(n ? n : 1);
      if (p) self->live++;
      return p;
    };
    mem.free = [](void *p, void *ud) {
      if (p) {
        static_cast<FailingMem *>(ud)->live--;
        std::free(p);
      }
    };
    mem.calloc = [](size_t a, size_t b, void *ud) -> void * {
      auto *self = static_cast<FailingMem *>(ud);
      if (self->fail_now()) return nullptr;
      void *p = std::calloc(a ? a : 1, b ? b : 1);
      if (p) self->live++;
      return p;
    };
    mem.realloc = [](void *p, size_t n, void *ud) -> void * {
      auto *self = static_cast<FailingMem *>(ud);
      if (self->fail_now()) return nullptr;
      void *q = std::realloc(p, n ? n : 1);
      if (q && !p) self->live++;
      return q;
    };
  }
  bool fail_now() { return ++calls == fail_at; }
  void reset(size_t fail) {
    calls = 0;
    fail_at = fail;
  }
};

// Parses hex ("0a0b 0c", whitespace ignored) into bytes.
inline std::vector<uint8_t> Hex(const std::string &s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (hi < 0) hi = v;
    else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

inline m6ike_addr6 Addr(const char *text) {
  m6ike_addr6 a;
  std::memset(&a, 0, sizeof(a));
  if (m6ike_addr6_parse(&a, text) != 0) std::abort();
  return a;
}

// The non-empty lines of f (line ends stripped, lines up to 254
// characters: the golden traces), and closes f.
inline std::vector<std::string> ReadLines(FILE *f) {
  std::vector<std::string> out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f)) {
    std::string l(buf);
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    if (!l.empty()) out.push_back(l);
  }
  std::fclose(f);
  return out;
}

#endif
