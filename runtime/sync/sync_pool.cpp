// runtime/sync/sync_pool.cpp — Group/Pool bookkeeping: members, slot hand-off, join and kill.
//
// Slots: members.size() + reserved <= limit at all times. A spawner reserves a slot (or waits in
// `spawners`), spawns, and turns the reservation into a member. A finishing member, or a spawner
// that gives its reservation back, hands the slot to the first waiting spawner by reserving it on
// that spawner's behalf before unparking it (so "woken" means "you hold a reservation").
#include <greenev/pool.hpp>

#include <vector>

namespace greenev::detail {

GroupState::~GroupState() {
  for (FiberBase* f : members) f->release();
}

bool GroupState::reserve(Deadline d) {
  if (members.size() + reserved < limit && spawners.empty()) {
    ++reserved;
    return true;
  }
  return wait_on(spawners, "pool_spawn", d);
}

static void hand_slot(GroupState& g) noexcept {
  if (!g.spawners.empty() && g.members.size() + g.reserved < g.limit) {
    ++g.reserved;
    g.spawners.notify_one();
  }
}

void GroupState::unreserve() noexcept {
  --reserved;
  hand_slot(*this);
}

void GroupState::add(FiberBase* f, bool had_reservation) {
  if (had_reservation) --reserved;
  if (f->done() || members.count(f)) {
    hand_slot(*this);
    return;
  }
  f->add_ref();
  members.insert(f);
  add_done_callback(f, [self = shared_from_this(), f](std::uint64_t) { self->on_member_done(f); });
}

void GroupState::on_member_done(FiberBase* f) noexcept {
  if (members.erase(f) == 0) return;
  f->release();  // the hub still holds its own reference until the fiber retires
  hand_slot(*this);
  if (members.empty()) joiners.notify_all();
}

bool GroupState::join(Deadline d) {
  while (!members.empty())
    if (!wait_on(joiners, "group_join", d)) return members.empty();
  return true;
}

void GroupState::kill(bool wait) {
  FiberBase* self = current_fiber();
  std::vector<FiberBase*> snap(members.begin(), members.end());
  for (FiberBase* f : snap) f->add_ref();
  struct Drop {
    std::vector<FiberBase*>& v;
    ~Drop() {
      for (FiberBase* f : v) f->release();
    }
  } drop{snap};
  for (FiberBase* f : snap)
    if (f != self) request_kill(f);
  if (wait)
    for (FiberBase* f : snap)
      if (f != self) kill_and_wait(f);  // unbounded by the caller's Timeouts, like Fiber::kill()
}

}  // namespace greenev::detail
