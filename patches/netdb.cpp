// patches/netdb.cpp — name resolution as whole calls on the thread pool.
//
// Thread pool (inside a fiber, patching on): getaddrinfo, getnameinfo, gethostbyname,
// gethostbyname_r, gethostbyname2, gethostbyname2_r, gethostbyaddr, gethostbyaddr_r. glibc resolves
// through internal calls (NSS modules, its own DNS client) that the patches cannot see, so the real
// call runs whole on a pool thread while the hub runs other fibers. Return values, *res lists,
// errno and h_errno are the real call's (errno and h_errno are carried back from the worker).
// Pass through: outside fibers, the hub fiber, patching off, and arguments that make the real call
// fail at once without a lookup (null or oversized address buffers).
//
// Interruption (Interrupt::allowed): a Timeout or kill() makes the call return at once —
// getaddrinfo/getnameinfo EAI_SYSTEM with errno ETIMEDOUT (Timeout) or ECANCELED (kill, or the
// lookup lost to fork()); gethostbyname* NULL with h_errno TRY_AGAIN and that errno; the _r variants
// return that errno number with *result NULL and *h_errnop TRY_AGAIN. The exception is raised at the
// next suspension point. The lookup itself finishes on its worker: everything it touches lives in a
// heap state shared with the job (copied inputs, private output buffers), so it never writes the
// caller's memory after the caller left, and whatever it allocated (an addrinfo list) is freed by
// the state's destructor on the worker when the job lets go of it.
// The _r variants fill a private buffer of the caller's size and copy it into the caller's buffer,
// relocating the hostent's pointers. The non-reentrant variants keep their result in per-fiber
// storage (FiberLocal): it stays valid until the same fiber's next call of one of them — glibc's
// contract per thread, given per fiber here because fibers of one thread interleave at every call.
// Rejected: c-ares (a second resolver whose answers can differ from glibc's NSS configuration:
// /etc/nsswitch.conf, mdns, systemd-resolved, LDAP), and getaddrinfo_a (signals or threads of its
// own, and no getnameinfo/gethostby* counterpart).
#include "patch.hpp"

#include <greenev/fiber_local.hpp>
#include <greenev/threadpool.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <netdb.h>
#include <string>
#include <sys/socket.h>
#include <vector>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(netdb);

namespace {

struct NetdbFns {
  decltype(&::getaddrinfo) getaddrinfo = nullptr;
  decltype(&::getnameinfo) getnameinfo = nullptr;
  decltype(&::gethostbyname) gethostbyname = nullptr;
  decltype(&::gethostbyname_r) gethostbyname_r = nullptr;
  decltype(&::gethostbyname2) gethostbyname2 = nullptr;
  decltype(&::gethostbyname2_r) gethostbyname2_r = nullptr;
  decltype(&::gethostbyaddr) gethostbyaddr = nullptr;
  decltype(&::gethostbyaddr_r) gethostbyaddr_r = nullptr;
};

NetdbFns resolve() noexcept {
  NetdbFns f;
#define GREENEV_RESOLVE(n)                                                               \
  f.n = reinterpret_cast<decltype(f.n)>(dlsym(RTLD_NEXT, #n));                           \
  if (!f.n) {                                                                            \
    std::fputs("greenev: cannot resolve the real " #n " (dlsym RTLD_NEXT)\n", stderr);   \
    std::abort();                                                                        \
  }
  GREENEV_RESOLVE(getaddrinfo)
  GREENEV_RESOLVE(getnameinfo)
  GREENEV_RESOLVE(gethostbyname)
  GREENEV_RESOLVE(gethostbyname_r)
  GREENEV_RESOLVE(gethostbyname2)
  GREENEV_RESOLVE(gethostbyname2_r)
  GREENEV_RESOLVE(gethostbyaddr)
  GREENEV_RESOLVE(gethostbyaddr_r)
#undef GREENEV_RESOLVE
  return f;
}

// Resolved once: at load time, or by the first patched call if that comes first.
const NetdbFns& rn() noexcept {
  static const NetdbFns f = resolve();
  return f;
}
__attribute__((constructor(102))) void netdb_load() { (void)rn(); }

// The errno an interrupted or lost lookup reports.
int interrupt_errno(WakeReason w) noexcept { return w == WakeReason::scope_timeout ? ETIMEDOUT : ECANCELED; }

// Runs st->run() on the default pool. The job holds its own reference to the state, so an
// interrupted caller may drop its one and leave: the state (and what the lookup allocated) dies
// with the job, on the worker.
template <class State>
WakeReason run_whole(const std::shared_ptr<State>& st) noexcept {
  return run_blocking_nothrow([st]() noexcept { st->run(); }, Interrupt::allowed);
}

template <class State, class... A>
std::shared_ptr<State> make_state(A&&... a) noexcept {
  try {
    return std::make_shared<State>(std::forward<A>(a)...);
  } catch (...) {
    return nullptr;
  }
}

std::string copy_or_empty(const char* s) { return s ? std::string(s) : std::string(); }

// ---- getaddrinfo / getnameinfo -------------------------------------------------------------------

struct AddrInfoLookup {
  std::string node, service;
  bool has_node, has_service, has_hints;
  struct addrinfo hints{};
  int rc = EAI_SYSTEM;
  int err = 0;
  struct addrinfo* res = nullptr;  // owned until the caller takes it

  AddrInfoLookup(const char* n, const char* s, const struct addrinfo* h)
      : node(copy_or_empty(n)), service(copy_or_empty(s)), has_node(n), has_service(s), has_hints(h) {
    if (h) hints = *h;  // ai_addr/ai_canonname/ai_next are only compared with null by glibc
  }
  ~AddrInfoLookup() {
    if (res) ::freeaddrinfo(res);  // an abandoned lookup's list
  }
  void run() noexcept {
    rc = rn().getaddrinfo(has_node ? node.c_str() : nullptr, has_service ? service.c_str() : nullptr,
                          has_hints ? &hints : nullptr, &res);
    err = errno;
    if (rc != 0) res = nullptr;
  }
};

struct NameInfoLookup {
  struct sockaddr_storage sa{};
  socklen_t salen;
  // Private outputs: at least one byte each, so a caller's non-null pointer stays non-null (glibc
  // tells "not wanted" by null pointers and by zero lengths apart).
  std::vector<char> host, serv;
  socklen_t hostlen, servlen;
  bool want_host, want_serv;
  int flags;
  int rc = EAI_SYSTEM;
  int err = 0;

  NameInfoLookup(const struct sockaddr* a, socklen_t len, bool wh, socklen_t hl, bool ws, socklen_t sl, int fl)
      : salen(len), host(wh ? std::max<socklen_t>(hl, 1) : 0), serv(ws ? std::max<socklen_t>(sl, 1) : 0),
        hostlen(hl), servlen(sl), want_host(wh), want_serv(ws), flags(fl) {
    std::memcpy(&sa, a, len);
  }
  void run() noexcept {
    rc = rn().getnameinfo(reinterpret_cast<const struct sockaddr*>(&sa), salen, want_host ? host.data() : nullptr,
                          hostlen, want_serv ? serv.data() : nullptr, servlen, flags);
    err = errno;
  }
};

// Copies a NUL-terminated result of a len-byte output buffer into the caller's.
void copy_out(char* dst, const std::vector<char>& src, socklen_t len) noexcept {
  if (!dst || len == 0) return;
  std::memcpy(dst, src.data(), strnlen(src.data(), len - 1) + 1);
}

// ---- the gethostby* family ------------------------------------------------------------------------

// One lookup: by name (with a family for gethostbyname2) or by address, into a private buffer.
struct HostLookup {
  enum Kind : std::uint8_t { by_name, by_name2, by_addr } kind;
  std::string name;
  int af = AF_INET;
  std::vector<char> addr;
  bool grow;  // the non-reentrant variants: double the buffer on ERANGE, as glibc's wrappers do
  std::vector<char> buf;
  struct hostent he{};
  struct hostent* result = nullptr;
  int herr = 0;
  int rc = 0;
  int err = 0;

  HostLookup(Kind k, std::size_t buflen, bool g) : kind(k), grow(g), buf(buflen) {}

  int call_once() noexcept {
    switch (kind) {
      case by_name:
        return rn().gethostbyname_r(name.c_str(), &he, buf.data(), buf.size(), &result, &herr);
      case by_name2:
        return rn().gethostbyname2_r(name.c_str(), af, &he, buf.data(), buf.size(), &result, &herr);
      case by_addr:
        return rn().gethostbyaddr_r(addr.data(), static_cast<socklen_t>(addr.size()), af, &he, buf.data(),
                                    buf.size(), &result, &herr);
    }
    return EINVAL;
  }
  void run() noexcept {
    for (;;) {
      rc = call_once();
      err = errno;
      if (!grow || rc != ERANGE || herr != NETDB_INTERNAL) return;
      try {
        buf.assign(buf.size() * 2, '\0');
      } catch (...) {
        result = nullptr;
        err = ENOMEM;
        return;
      }
    }
  }
};

// The non-reentrant variants' result, per fiber: valid until the fiber's next call of one of them.
greenev::FiberLocal<std::shared_ptr<HostLookup>> g_host_result;

constexpr std::size_t kHostBuf0 = 1024;  // glibc's first buffer size for the same wrappers

// gethostbyname / gethostbyname2 / gethostbyaddr.
struct hostent* host_static(const std::shared_ptr<HostLookup>& st) noexcept {
  if (!st) {
    h_errno = NETDB_INTERNAL;
    errno = ENOMEM;
    return nullptr;
  }
  const WakeReason w = run_whole(st);
  if (w != WakeReason::woken) {
    h_errno = TRY_AGAIN;
    errno = interrupt_errno(w);
    return nullptr;
  }
  if (st->herr != 0) h_errno = st->herr;
  errno = st->err;
  if (!st->result) return nullptr;
  g_host_result.get() = st;  // the previous result of this fiber is freed here
  return &st->he;
}

// Points p, if it lies in the private buffer [from, from + n), at the same offset in `to`.
template <class T>
T* rebase(T* p, const char* from, std::size_t n, char* to) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(from);
  return a >= b && a < b + n ? reinterpret_cast<T*>(to + (a - b)) : p;
}

// Rebases a NULL-terminated pointer array that now lives in the caller's buffer.
void rebase_array(char** arr, const char* from, std::size_t n, char* to, std::size_t tolen) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(arr), b = reinterpret_cast<std::uintptr_t>(to);
  if (!arr || a < b || a >= b + tolen) return;  // not in the buffer: not ours to rewrite
  for (char** p = arr; *p; ++p) *p = rebase(*p, from, n, to);
}

// gethostbyname_r / gethostbyname2_r / gethostbyaddr_r: the lookup ran into st's private buffer
// (the caller's size); copy it into the caller's and fix the pointers up.
int host_r(const std::shared_ptr<HostLookup>& st, struct hostent* ret, char* buf, struct hostent** result,
           int* h_errnop) noexcept {
  if (!st) {
    *result = nullptr;
    *h_errnop = NETDB_INTERNAL;
    errno = ENOMEM;
    return ENOMEM;
  }
  const WakeReason w = run_whole(st);
  if (w != WakeReason::woken) {
    *result = nullptr;
    *h_errnop = TRY_AGAIN;
    errno = interrupt_errno(w);
    return errno;
  }
  *h_errnop = st->herr;
  errno = st->err;
  if (!st->result) {
    *result = nullptr;
    return st->rc;
  }
  const std::size_t n = st->buf.size();
  const char* from = st->buf.data();
  std::memcpy(buf, from, n);
  *ret = st->he;
  ret->h_name = rebase(ret->h_name, from, n, buf);
  ret->h_aliases = rebase(ret->h_aliases, from, n, buf);
  ret->h_addr_list = rebase(ret->h_addr_list, from, n, buf);
  rebase_array(ret->h_aliases, from, n, buf, n);
  rebase_array(ret->h_addr_list, from, n, buf, n);
  *result = ret;
  return st->rc;
}

std::shared_ptr<HostLookup> by_name(HostLookup::Kind k, const char* name, int af, std::size_t buflen,
                                    bool grow) noexcept {
  auto st = make_state<HostLookup>(k, buflen, grow);
  if (!st) return st;
  try {
    st->name = name;
  } catch (...) {
    return nullptr;
  }
  st->af = af;
  return st;
}

std::shared_ptr<HostLookup> by_addr(const void* addr, socklen_t len, int type, std::size_t buflen,
                                    bool grow) noexcept {
  auto st = make_state<HostLookup>(HostLookup::by_addr, buflen, grow);
  if (!st) return st;
  try {
    st->addr.assign(static_cast<const char*>(addr), static_cast<const char*>(addr) + len);
  } catch (...) {
    return nullptr;
  }
  st->af = type;
  return st;
}

// Address lengths the real calls may read; anything longer fails there without a lookup.
constexpr socklen_t kMaxAddr = sizeof(struct sockaddr_storage);

}  // namespace

GREENEV_PATCH int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                              struct addrinfo** res) {
  if (!coop_hub()) return rn().getaddrinfo(node, service, hints, res);
  auto st = make_state<AddrInfoLookup>(node, service, hints);
  if (!st) return EAI_MEMORY;
  const WakeReason w = run_whole(st);
  if (w != WakeReason::woken) {
    errno = interrupt_errno(w);
    return EAI_SYSTEM;
  }
  errno = st->err;
  if (st->rc == 0) *res = std::exchange(st->res, nullptr);
  return st->rc;
}

GREENEV_PATCH int getnameinfo(const struct sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
                              char* serv, socklen_t servlen, int flags) {
  if (!coop_hub() || !sa || salen > kMaxAddr) return rn().getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
  auto st = make_state<NameInfoLookup>(sa, salen, host != nullptr, hostlen, serv != nullptr, servlen, flags);
  if (!st) return EAI_MEMORY;
  const WakeReason w = run_whole(st);
  if (w != WakeReason::woken) {
    errno = interrupt_errno(w);
    return EAI_SYSTEM;
  }
  errno = st->err;
  if (st->rc == 0) {
    copy_out(host, st->host, hostlen);
    copy_out(serv, st->serv, servlen);
  }
  return st->rc;
}

GREENEV_PATCH struct hostent* gethostbyname(const char* name) {
  if (!coop_hub() || !name) return rn().gethostbyname(name);
  return host_static(by_name(HostLookup::by_name, name, AF_INET, kHostBuf0, true));
}

GREENEV_PATCH struct hostent* gethostbyname2(const char* name, int af) {
  if (!coop_hub() || !name) return rn().gethostbyname2(name, af);
  return host_static(by_name(HostLookup::by_name2, name, af, kHostBuf0, true));
}

GREENEV_PATCH struct hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  if (!coop_hub() || !addr || len > kMaxAddr) return rn().gethostbyaddr(addr, len, type);
  return host_static(by_addr(addr, len, type, kHostBuf0, true));
}

GREENEV_PATCH int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen,
                                  struct hostent** result, int* h_errnop) {
  if (!coop_hub() || !name) return rn().gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
  return host_r(by_name(HostLookup::by_name, name, AF_INET, buflen, false), ret, buf, result, h_errnop);
}

GREENEV_PATCH int gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t buflen,
                                   struct hostent** result, int* h_errnop) {
  if (!coop_hub() || !name) return rn().gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
  return host_r(by_name(HostLookup::by_name2, name, af, buflen, false), ret, buf, result, h_errnop);
}

GREENEV_PATCH int gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret, char* buf,
                                  size_t buflen, struct hostent** result, int* h_errnop) {
  if (!coop_hub() || !addr || len > kMaxAddr)
    return rn().gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
  return host_r(by_addr(addr, len, type, buflen, false), ret, buf, result, h_errnop);
}
