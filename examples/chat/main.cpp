// examples/chat/main.cpp — greenev-chat: a line-based chat room (the classic gevent example).
//
//   greenev-chat --listen 127.0.0.1:7000        then, in two terminals: nc 127.0.0.1 7000
//
// Every line a client sends goes to every other client, prefixed with the sender's nick; lines
// starting with '/' are commands (/nick NAME, /who, /quit). Each client is two fibers: its
// connection's handler reads lines, and a writer fiber drains the client's outbox, a bounded
// Queue of messages. Senders never wait on a recipient: they try_put() into its outbox, and a
// client whose outbox is full — it stopped reading and its socket buffers are full — is dropped
// (its socket shut down, the room told), so one stalled client can neither block nor slow down
// anybody else. One message is one read's worth of lines (a batch shared by all recipients), and
// the reader yields after each batch so writers run between a flooder's reads (fairness on one
// hub). Memory per client is bounded: outbox messages x 16 KiB plus a fixed socket send buffer
// (--sndbuf). A client that reads slower than the room talks is, to the room, the same as one
// that stopped: it is dropped once its outbox is full (the "slow consumer" rule of message
// brokers); size --outbox for the bursts you expect. Rejected: writing to each recipient from
// the sender's fiber (one slow reader stalls the room) and unbounded outboxes (one stalled reader
// grows the server's memory without limit).
#include "example_common.hpp"

#include <greenev/greenev.hpp>

#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Msg = std::shared_ptr<const std::string>;

struct Client {
  Client(std::string nick, int fd, std::string peer, std::size_t outbox_size)
      : nick(std::move(nick)), fd(fd), peer(std::move(peer)), outbox(outbox_size) {}
  std::string nick;
  int fd;
  std::string peer;
  greenev::Queue<Msg> outbox;
  bool dropped = false;
};

class Room {
 public:
  void join(Client* c) {
    clients_.push_back(c);
    tell(c, "* welcome, you are " + c->nick + "; commands: /nick NAME, /who, /quit\n");
    broadcast(c, "* " + c->nick + " joined\n");
  }

  void leave(Client* c) {
    clients_.remove(c);
    if (!c->dropped) broadcast(nullptr, "* " + c->nick + " left\n");
  }

  // To everyone but `from`; whoever has a full outbox is dropped (and the room told).
  void broadcast(Client* from, std::string text) {
    const Msg m = std::make_shared<const std::string>(std::move(text));
    std::vector<Client*> full;
    for (Client* c : clients_)
      if (c != from && !c->dropped && !c->outbox.try_put(m)) full.push_back(c);
    for (Client* c : full) drop(c, "outbox full: not reading");
  }

  // To one client (its own outbox: a client that does not read its own replies is dropped too).
  void tell(Client* c, std::string text) {
    if (!c->dropped && !c->outbox.try_put(std::make_shared<const std::string>(std::move(text))))
      drop(c, "outbox full: not reading");
  }

  Client* find(std::string_view nick) {
    for (Client* c : clients_)
      if (c->nick == nick) return c;
    return nullptr;
  }

  std::string who() const {
    std::string s = "* " + std::to_string(clients_.size()) + " here:";
    for (const Client* c : clients_) s += " " + c->nick;
    return s + "\n";
  }

  std::string next_guest() { return "guest" + std::to_string(++guests_); }

 private:
  // Shutting the socket down wakes both of its fibers: the reader sees EOF, the writer EPIPE.
  void drop(Client* c, const char* why) {
    if (c->dropped) return;
    c->dropped = true;
    c->outbox.close();
    ::shutdown(c->fd, SHUT_RDWR);
    std::fprintf(stderr, "greenev-chat: dropped %s (%s): %s\n", c->nick.c_str(), c->peer.c_str(), why);
    broadcast(c, "* " + c->nick + " dropped (" + why + ")\n");
  }

  std::list<Client*> clients_;
  unsigned long guests_ = 0;
};

bool valid_nick(std::string_view n) {
  if (n.empty() || n.size() > 32) return false;
  for (char ch : n)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) return false;
  return true;
}

// Drains the outbox to the socket until the outbox is closed and empty, or the peer is gone.
void write_loop(Client& me) {
  for (;;) {
    Msg m;
    try {
      m = me.outbox.get();
    } catch (const greenev::ChannelClosed&) {
      return;
    }
    std::size_t off = 0;
    while (off < m->size()) {
      const ssize_t n = ::send(me.fd, m->data() + off, m->size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::shutdown(me.fd, SHUT_RDWR);  // the reader sees EOF and ends the session
        return;
      }
      off += static_cast<std::size_t>(n);
    }
  }
}

struct Config {
  std::size_t outbox = 128;
  std::size_t max_line = 4096;
  int sndbuf = 64 * 1024;
};

// Runs one client's commands and lines; false when the session should end (/quit).
bool handle_line(Room& room, Client& me, std::string_view line, std::string& batch) {
  if (line.empty() || line[0] != '/') {
    batch += me.nick;
    batch += ": ";
    batch += line;
    batch += '\n';
    return true;
  }
  const std::size_t sp = line.find(' ');
  const std::string_view cmd = line.substr(0, sp);
  const std::string_view arg = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  if (cmd == "/quit") {
    room.tell(&me, "* bye\n");
    return false;
  }
  if (cmd == "/who") {
    room.tell(&me, room.who());
  } else if (cmd == "/nick" && valid_nick(arg)) {
    if (room.find(arg)) {
      room.tell(&me, "* nick " + std::string(arg) + " is taken\n");
    } else {
      const std::string note = "* " + me.nick + " is now " + std::string(arg) + "\n";
      me.nick = arg;
      room.tell(&me, note);
      room.broadcast(&me, note);
    }
  } else if (cmd == "/nick") {
    room.tell(&me, "* a nick is 1-32 letters, digits, '_' or '-'\n");
  } else {
    room.tell(&me, "* unknown command " + std::string(cmd) + "; try /nick NAME, /who, /quit\n");
  }
  return true;
}

void serve(greenev::Connection& conn, Room& room, const Config& cfg) {
  // A fixed send buffer: with the kernel's autotuning a stalled client could park megabytes in
  // the kernel before its outbox even starts to fill.
  if (cfg.sndbuf > 0) ::setsockopt(conn.fd(), SOL_SOCKET, SO_SNDBUF, &cfg.sndbuf, sizeof cfg.sndbuf);
  Client me(room.next_guest(), conn.fd(), conn.peer(), cfg.outbox);
  auto writer = greenev::spawn(greenev::SpawnOptions{"chat:write " + conn.peer()}, write_loop, std::ref(me));
  room.join(&me);
  std::string pending;  // an unfinished line
  char buf[16 * 1024];
  bool quit = false;
  while (!quit && !me.dropped) {
    conn.set_idle(pending.empty());
    const ssize_t n = conn.read(buf, sizeof buf);
    if (n <= 0) break;  // EOF, shut down by a drop, the server stopping, or the idle timeout
    conn.set_idle(false);
    pending.append(buf, static_cast<std::size_t>(n));
    std::string batch;
    std::size_t start = 0;
    for (std::size_t nl; !quit && (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      conn.count_request();
      quit = !handle_line(room, me, line, batch);
    }
    pending.erase(0, start);
    if (!batch.empty()) room.broadcast(&me, std::move(batch));
    if (pending.size() > cfg.max_line) {
      room.tell(&me, "* line over " + std::to_string(cfg.max_line) + " bytes; bye\n");
      break;
    }
    greenev::this_fiber::yield();  // let the recipients' writers run before the next read
  }
  room.leave(&me);
  if (me.dropped) {
    writer.kill();
    return;
  }
  if (conn.stopping()) room.tell(&me, "* server shutting down\n");
  me.outbox.close();  // the writer sends what is queued, then ends
  if (!writer.join(std::chrono::seconds(2))) writer.kill();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greenev-chat: a line-based chat room; every line goes to everyone else.\n"
               "Try: nc 127.0.0.1 7000 (in two terminals)"};
  greenev::examples::ServerFlags flags;
  flags.grace_s = 5;
  greenev::examples::add_server_flags(app, flags, "127.0.0.1:7000");
  Config cfg;
  app.add_option("--outbox", cfg.outbox, "messages queued per client before it counts as stalled and is dropped")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-line", cfg.max_line, "longest line in bytes")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--sndbuf", cfg.sndbuf, "socket send buffer per client in bytes (0: the kernel's autotuning)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  return greenev::examples::guarded_main("greenev-chat", [&] {
    Room room;
    greenev::StreamServer server(greenev::examples::server_options(flags, "greenev-chat"),
                                 [&](greenev::Connection& c) { serve(c, room, cfg); });
    server.start();
    greenev::examples::announce(server, "greenev-chat");
    server.serve_forever();
    const greenev::ServerCounters n = server.counters();
    std::fprintf(stderr, "greenev-chat: stopped after %llu clients, %llu lines (%llu cut off)\n",
                 static_cast<unsigned long long>(n.accepted), static_cast<unsigned long long>(n.requests),
                 static_cast<unsigned long long>(n.cut_off_at_stop));
    return 0;
  });
}
