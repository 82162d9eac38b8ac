// FiberLocal<T>: one value per fiber, destroyed when the fiber ends.
#include "test_support.hpp"

#include <string>

namespace {
greenev::FiberLocal<int> counter;
int destroyed = 0;
struct Tracked {
  int v = 0;
  ~Tracked() { ++destroyed; }
};
greenev::FiberLocal<Tracked> tracked;
}  // namespace

TEST_CASE("each fiber sees its own FiberLocal value") {
  *counter = 100;
  std::vector<greenev::Fiber<int>> fs;
  for (int i = 0; i < 10; ++i)
    fs.push_back(greenev::spawn([i] {
      CHECK(*counter == 0);  // default-constructed on first access
      *counter = i;
      greenev::this_fiber::yield();  // others write theirs meanwhile
      return *counter;
    }));
  for (int i = 0; i < 10; ++i) CHECK(fs[i].join() == i);
  CHECK(*counter == 100);
  test::require_hub_clean();
}

TEST_CASE("FiberLocal values are destroyed when their fiber finishes") {
  destroyed = 0;
  auto f = greenev::spawn([] { tracked->v = 1; greenev::sleep(std::chrono::milliseconds(1)); });
  auto g = greenev::spawn([] {});  // never touches it
  f.join();
  g.join();
  CHECK(destroyed == 1);
  test::require_hub_clean();
}
