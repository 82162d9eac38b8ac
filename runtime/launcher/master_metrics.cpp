// runtime/launcher/master_metrics.cpp — `--metrics host:port`: the workers' counters, per worker
// and summed, in the Prometheus text format, served by the master from its hub.
//
// The numbers are what each worker's hub last reported over the heartbeat (so at most one tick
// old), which costs the workers nothing extra and needs no shared memory. Requests of workers that
// have exited are carried in retired_requests_, so greenev_requests_total never goes backwards
// across restarts and reloads. The socket is the master's own: it is never passed to workers.
// Rejected: scraping each worker (they would each need a port, and a hung one would stall it).
#include "launcher/master.hpp"

#include <greenev/fiber.hpp>
#include <greenev/this_fiber.hpp>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace greenev::detail::launcher {

std::string Master::metrics_text() const {
  std::string out;
  auto line = [&out](const char* s) { out += s; };
  char buf[256];
  std::int64_t conns = 0;
  std::uint64_t reqs = retired_requests_, fibers = 0, rss = 0;
  std::string per;
  for (const auto& w : all_workers()) {
    if (w->hub_tid <= 0) continue;
    conns += w->stats.connections;
    reqs += w->stats.requests;
    fibers += w->stats.fibers;
    rss += w->stats.rss_kb * 1024;
    std::snprintf(buf, sizeof buf,
                  "greenev_worker_requests{index=\"%d\",pid=\"%d\"} %llu\n"
                  "greenev_worker_connections{index=\"%d\",pid=\"%d\"} %lld\n",
                  w->index, static_cast<int>(w->pid), static_cast<unsigned long long>(w->stats.requests), w->index,
                  static_cast<int>(w->pid), static_cast<long long>(w->stats.connections));
    per += buf;
  }
  int restarts = 0;
  for (const auto& s : slots_) restarts += s->restarts;
  line("# HELP greenev_launcher_workers Worker processes the master keeps running.\n# TYPE greenev_launcher_workers gauge\n");
  out += "greenev_launcher_workers " + std::to_string(opts_.workers) + "\n";
  line("# HELP greenev_launcher_restarts_total Workers restarted after an unexpected exit.\n# TYPE greenev_launcher_restarts_total counter\n");
  out += "greenev_launcher_restarts_total " + std::to_string(restarts) + "\n";
  line("# HELP greenev_launcher_reloads_total SIGHUP reloads.\n# TYPE greenev_launcher_reloads_total counter\n");
  out += "greenev_launcher_reloads_total " + std::to_string(reloads_) + "\n";
  line("# HELP greenev_requests_total Requests served by all workers, exited ones included.\n# TYPE greenev_requests_total counter\n");
  out += "greenev_requests_total " + std::to_string(reqs) + "\n";
  line("# HELP greenev_connections Open connections, all workers.\n# TYPE greenev_connections gauge\n");
  out += "greenev_connections " + std::to_string(conns) + "\n";
  line("# HELP greenev_fibers Live fibers, all workers.\n# TYPE greenev_fibers gauge\n");
  out += "greenev_fibers " + std::to_string(fibers) + "\n";
  line("# HELP greenev_resident_bytes Resident memory, all workers.\n# TYPE greenev_resident_bytes gauge\n");
  out += "greenev_resident_bytes " + std::to_string(rss) + "\n";
  line("# HELP greenev_worker_requests Requests served by one worker process.\n# TYPE greenev_worker_requests counter\n");
  line("# HELP greenev_worker_connections Open connections of one worker process.\n# TYPE greenev_worker_connections gauge\n");
  out += per;
  return out;
}

void Master::serve_metrics() {
  for (;;) {
    int c = ::accept4(metrics_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == ECANCELED || stopping_) return;
      mlog("metrics socket: accept: %s", std::strerror(errno));
      greenev::sleep(std::chrono::milliseconds(100));
      continue;
    }
    go("metrics client", [this, c] {
      std::string req;
      char buf[1024];
      {
        Timeout t(std::chrono::seconds(5));  // a client that never sends its head is dropped
        try {
          while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
            ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            req.append(buf, static_cast<std::size_t>(n));
          }
        } catch (const TimeoutError&) {
        }
      }
      const bool ok = req.rfind("GET /metrics", 0) == 0 || req.rfind("GET / ", 0) == 0;
      std::string body = ok ? metrics_text() : "not found: GET /metrics\n";
      std::string resp = std::string(ok ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n") +
                         "Content-Type: text/plain; version=0.0.4\r\nConnection: close\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
      std::size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = ::write(c, resp.data() + off, resp.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::close(c);
    });
  }
}

}  // namespace greenev::detail::launcher
