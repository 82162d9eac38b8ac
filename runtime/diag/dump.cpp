// runtime/diag/dump.cpp — fiber dumps: every fiber of every hub, with state, wait reason, time in
// that state, spawn site and backtrace.
//
// A hub's fibers are only ever touched on its own thread, so the dump of each hub is collected
// there: the caller's own hub inline, other hubs through their inbox (a posted fiber collects and
// hands back raw frames). Symbols are resolved by the caller, off the inspected hubs. A hub that
// does not answer within a second is blocked: it is reported as the monitor would (system call,
// running fiber's backtrace by signal) and its other fibers are not listed.
// Rejected: reading another hub's fiber list from the dumping thread (the list and the fibers'
// states change under it; a dump must never crash the process it inspects).
#include "core/hub.hpp"
#include "diag/monitor.hpp"
#include "diag/registry.hpp"
#include "diag/stack_capture.hpp"

#include <greenev/diagnostics.hpp>
#include <greenev/patches.hpp>

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

namespace greenev::detail {

namespace {

constexpr const char* kStateNames[] = {"ready", "running", "parked", "done"};

struct FiberRow {
  std::uint64_t id = 0;
  std::string name;
  FiberState state = FiberState::ready;
  const char* reason = nullptr;  // string literal (every park names one)
  Deadline parked_at = 0;
  const void* spawn_site = nullptr;
  bool started = false;
  bool is_caller = false;  // the fiber running this dump
  RawStack stack;
};

struct HubRows {
  pid_t tid = 0;
  HubStats stats;
  Deadline taken_at = 0;
  std::vector<FiberRow> rows;
};

// On h's thread. skip: a fiber to leave out (the posted dump task itself).
HubRows collect(Hub& h, const FiberBase* skip) {
  HubRows out;
  out.tid = h.diag().tid;
  out.stats = h.stats();
  out.taken_at = now_ns();
  FiberBase* self = h.running();
  auto add = [&](FiberBase* f) {
    if (f == skip) return;
    FiberRow r;
    r.id = f->id();
    const char* n = h.name_of(f);
    r.name = n ? n : "fiber-" + std::to_string(f->id());
    r.state = f->state();
    r.reason = f->wait_reason();
    r.parked_at = f->parked_at_;
    r.spawn_site = f->spawn_site_;
    r.started = f->ctx_ != nullptr || f == h.main_fiber() || f == self;
    if (f == self) {
      r.is_caller = true;
      capture_here(r.stack);
    } else {
      capture_suspended(h, f, r.stack);
    }
    out.rows.push_back(std::move(r));
  };
  add(h.main_fiber());
  for (FiberBase* f = h.live_head(); f; f = f->all_next_) add(f);
  return out;
}

// Leading frames inside the switch machinery say nothing about the fiber: drop them.
std::vector<FrameInfo> trim(std::vector<FrameInfo> frames) {
  std::size_t cut = 0;
  for (std::size_t i = 0; i < frames.size() && i < 10; ++i) {
    const std::string& fn = frames[i].function;
    if (fn.find("diag_capture_resumed") != std::string::npos || fn.find("context_switch") != std::string::npos ||
        fn.find("Hub::switch_away") != std::string::npos || fn.find("capture_here") != std::string::npos ||
        fn.find("safe_dump_to") != std::string::npos || fn.find("collect") == 0)
      cut = i + 1;
  }
  frames.erase(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(cut));
  return frames;
}

std::string fmt_seconds(Deadline ns) {
  char b[32];
  if (ns < 1'000'000) std::snprintf(b, sizeof b, "%.0f us", static_cast<double>(ns) / 1e3);
  else if (ns < 10'000'000'000) std::snprintf(b, sizeof b, "%.1f ms", static_cast<double>(ns) / 1e6);
  else std::snprintf(b, sizeof b, "%.1f s", static_cast<double>(ns) / 1e9);
  return b;
}

std::string format(const HubRows& h, bool own) {
  // One symbolizer round trip for the whole hub: every backtrace and every spawn site.
  std::vector<RawStack> sites(h.rows.size());
  std::vector<const RawStack*> batch;
  for (std::size_t i = 0; i < h.rows.size(); ++i) {
    batch.push_back(&h.rows[i].stack);
    // Frame 1 of a stack is looked up at addr-1: the spawn() call instruction itself.
    sites[i].frames[0] = sites[i].frames[1] = h.rows[i].spawn_site;
    sites[i].n = h.rows[i].spawn_site ? 2 : 0;
    batch.push_back(&sites[i]);
  }
  const auto symbols = symbolize_many(batch);

  std::string t = "greenev: hub on thread " + std::to_string(h.tid) + (own ? " (this thread)" : "") + ": " +
                  std::to_string(h.stats.fibers_alive) + " live fiber(s), " + std::to_string(h.stats.switches) +
                  " switches\n";
  for (std::size_t i = 0; i < h.rows.size(); ++i) {
    const FiberRow& r = h.rows[i];
    t += "  fiber " + std::to_string(r.id) + " '" + r.name + "' " + kStateNames[static_cast<int>(r.state)];
    if (r.reason) t += std::string(" in ") + r.reason;
    if (r.state == FiberState::parked && r.parked_at > 0) t += " for " + fmt_seconds(h.taken_at - r.parked_at);
    if (!r.started) t += " (not started)";
    if (r.is_caller) t += " (running this dump)";
    if (const auto& site = symbols[2 * i + 1]; site.size() == 2) t += ", spawned at " + site[1].text();
    t += "\n";
    for (const std::string& l : format_frames(trim(symbols[2 * i]))) t += "      " + l + "\n";
  }
  return t;
}

struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  HubRows rows;
};

// Waits for p->done up to `until`: cooperatively when the caller is a fiber that may park, so
// that hubs dumping each other do not block each other.
bool wait_done(Pending& p, Deadline until) {
  Hub* mine = Hub::current_or_null();
  const bool can_park = mine && !mine->in_hub_fiber();
  for (;;) {
    {
      std::unique_lock lk(p.mu);
      if (p.done) return true;
      if (now_ns() >= until) return false;
      if (!can_park) {
        p.cv.wait_for(lk, std::chrono::milliseconds(5));
        continue;
      }
    }
    WakeReason r = park("fiber_dump", std::min(until, now_ns() + 2'000'000));
    if (r != WakeReason::timed_out && r != WakeReason::woken) {
      patches::Disable real;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a pending kill: do not spin
    }
  }
}

}  // namespace

std::string fiber_dump_text() {
  std::string out;
  Hub* mine = Hub::current_or_null();
  struct Other {
    Hub* hub;
    pid_t tid;
    HubHandle handle;
    std::shared_ptr<Pending> pending;
  };
  std::vector<Other> others;
  for_each_hub([&](const HubEntry& e) {
    if (e.hub != mine) others.push_back({e.hub, e.hub->diag().tid, e.handle, nullptr});
  });
  for (Other& o : others) {
    auto p = std::make_shared<Pending>();
    const bool posted = o.handle.post([p] {
      Hub& h = Hub::current();
      HubRows rows = collect(h, h.running());
      std::lock_guard lk(p->mu);
      p->rows = std::move(rows);
      p->done = true;
      p->cv.notify_all();
    });
    if (posted) o.pending = std::move(p);
  }
  if (mine) out += format(collect(*mine, nullptr), true);
  const Deadline until = now_ns() + 1'000'000'000;
  for (Other& o : others) {
    if (!o.pending) continue;
    if (wait_done(*o.pending, until)) {
      std::lock_guard lk(o.pending->mu);
      out += format(o.pending->rows, false);
      continue;
    }
    // Blocked: say what holds it, as the monitor would (the hub must still be registered).
    std::optional<BlockedCapture> cap;
    for_each_hub([&](const HubEntry& e) {
      if (e.hub != o.hub || e.hub->diag().tid != o.tid) return;
      const Deadline stamp = e.hub->diag().loop_stamp.load(std::memory_order_relaxed);
      const Deadline held = stamp > 0 ? now_ns() - stamp : 0;
      cap = capture_blocked_hub(e.hub, std::chrono::nanoseconds(held));
    });
    if (!cap) continue;  // it shut down meanwhile
    const std::string blocked = finish_blocked_report(*cap).text;
    out += "greenev: hub on thread " + std::to_string(o.tid) +
           " did not answer the dump within 1 s; its other fibers are not listed\n" + blocked;
  }
  return out;
}

}  // namespace greenev::detail

namespace greenev {

void dump_fibers() {
  std::string s = detail::fiber_dump_text();
  patches::Disable real;
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

namespace diag {
std::string fiber_dump() { return detail::fiber_dump_text(); }
}  // namespace diag

}  // namespace greenev
