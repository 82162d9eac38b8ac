// tests/support/interrupt_probe.hpp — what a C library returns when a Timeout or kill() reaches it
// inside a call (docs/interrupts.md, "What C libraries return"). The call records its own result;
// the probe checks the contract around it: the TimeoutError is raised at the next greenev
// suspension point, and kill() returns with the fiber killed.
#pragma once
#include <greenev/greenev.hpp>

#include <chrono>

namespace test {

struct InterruptProbe {
  bool call_returned = false;  // the library call came back (with whatever error it chose)
  bool raised = false;         // TimeoutError at the next suspension point / the fiber was killed
};

template <class F>
InterruptProbe timeout_probe(std::chrono::milliseconds after, F&& call) {
  InterruptProbe p;
  auto f = greenev::spawn([&] {
    try {
      greenev::Timeout t(after);
      call();
      p.call_returned = true;
      greenev::sleep(std::chrono::milliseconds(1));  // owes the TimeoutError
    } catch (const greenev::TimeoutError&) {
      p.raised = true;
    }
  });
  f.join();
  return p;
}

template <class F>
InterruptProbe kill_probe(std::chrono::milliseconds after, F&& call) {
  InterruptProbe p;
  auto f = greenev::spawn([&] {
    call();
    p.call_returned = true;
    greenev::sleep(std::chrono::seconds(30));  // FiberExit here, at once
  });
  greenev::sleep(after);
  f.kill();  // must return
  p.raised = f.killed();
  return p;
}

}  // namespace test
