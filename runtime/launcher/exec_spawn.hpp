// runtime/launcher/exec_spawn.hpp — the CLI's spawner (clone + execve), see exec_spawn.cpp.
#pragma once
#include "launcher/master.hpp"

#include <string>
#include <vector>

namespace greenev::detail::launcher {

class ExecSpawner final : public Spawner {
 public:
  // argv[0] is looked up on PATH at every spawn (a reload runs what is on disk now).
  explicit ExecSpawner(std::vector<std::string> argv);
  Spawned spawn(const SpawnRequest& req) override;
  std::string what() const override;

 private:
  std::string resolve() const;
  std::vector<std::string> argv_;
};

}  // namespace greenev::detail::launcher
