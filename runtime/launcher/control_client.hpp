// runtime/launcher/control_client.hpp — client side of the master's control socket.
#pragma once
#include <string>

namespace greenev::detail::launcher {
// Sends `command` ("status", "reload", "stop") and reads the whole reply. 0, or -1 with error set.
int control_request(const std::string& path, const std::string& command, std::string& reply, std::string& error);
}  // namespace greenev::detail::launcher
