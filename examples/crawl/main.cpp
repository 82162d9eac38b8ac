// examples/crawl/main.cpp — greenev-crawl: fetch many URLs at once with libcurl's easy API.
//
//   greenev-crawl -c 20 https://example.org/ http://127.0.0.1:8080/ ...
//   greenev-crawl -c 50 -t 5 -i urls.txt
//
// curl_easy_perform() blocks its caller; run from fibers, the patched poll/connect/read/write
// inside libcurl park the fiber instead of the thread, so a Pool of N fibers runs N transfers at
// once on one thread, with unmodified libcurl. Each URL runs under a greenev::Timeout (name
// lookup, connect and transfer together): when it expires, libcurl's next poll() returns an
// error, the transfer ends, and the URL is reported as timed out. One line per URL, in completion
// order: status, bytes, seconds, URL (or the error); a summary at the end; a progress line when
// stdout is a terminal. SIGINT/SIGTERM: start nothing new, let running transfers finish (their
// Timeout bounds them), print the summary, exit; a second signal cuts them off.
// Exit status: 0 when every URL fetched got a status below 400, 1 otherwise, 2 on usage errors.
// Rejected: libcurl's multi API (the event loop by hand — what greenev exists to avoid), and one
// thread per transfer (a thread per URL does not scale to thousands).
#include "example_common.hpp"

#include <greenev/greenev.hpp>

#include <curl/curl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  std::string url;
  long status = 0;            // HTTP status; 0 when none came
  std::size_t bytes = 0;      // body bytes received
  double seconds = 0;
  std::string error;          // empty on a completed transfer
};

struct Options {
  std::size_t concurrency = 10;
  double timeout_s = 30;
  bool follow = true;
  std::string user_agent = "greenev-crawl/1";
};

std::size_t count_body(char*, std::size_t size, std::size_t n, void* userdata) {
  *static_cast<std::size_t*>(userdata) += size * n;
  return size * n;
}

Result fetch(const std::string& url, const Options& o) {
  Result r;
  r.url = url;
  // Owned by a guard: a second signal kills transfers, and the kill unwinds through here.
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), curl_easy_cleanup);
  CURL* h = handle.get();
  if (!h) {
    r.error = "curl_easy_init failed";
    return r;
  }
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.bytes);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for name lookups: fibers share a thread
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, o.follow ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode
  const auto t0 = Clock::now();
  CURLcode rc = CURLE_OK;
  bool timed_out = false;
  {
    greenev::Timeout deadline(std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000)));
    try {
      rc = curl_easy_perform(h);
    } catch (const greenev::TimeoutError& e) {  // raised by a callback's suspension, if any
      if (!e.is(deadline)) throw;
      rc = CURLE_OPERATION_TIMEDOUT;
    }
    timed_out = rc != CURLE_OK && deadline.expired();
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  if (timed_out) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "timed out after %.1f s", o.timeout_s);
    r.error = buf;
  } else if (rc != CURLE_OK) {
    r.error = err[0] ? err : curl_easy_strerror(rc);
  }
  return r;
}

std::string human_bytes(double b) {
  const char* unit[] = {"B", "KB", "MB", "GB"};
  int i = 0;
  while (b >= 1000 && i < 3) {
    b /= 1000;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
  return buf;
}

// The report: result lines, and on a terminal a progress line kept below them.
class Report {
 public:
  Report(std::size_t total, bool tty) : total_(total), tty_(tty), t0_(Clock::now()) {}
  void started() {
    ++active_;
    progress();
  }
  void done(const Result& r) {
    --active_;
    ++done_;
    bytes_ += r.bytes;
    const bool ok = r.error.empty() && r.status < 400;
    if (!ok) ++failed_;
    clear();
    if (r.error.empty())
      std::printf("%3ld %10s %7.3f s  %s\n", r.status, human_bytes(static_cast<double>(r.bytes)).c_str(), r.seconds,
                  r.url.c_str());
    else
      std::printf("ERR %10s %7.3f s  %s: %s\n", human_bytes(static_cast<double>(r.bytes)).c_str(), r.seconds,
                  r.url.c_str(), r.error.c_str());
    progress();
  }
  void progress() {
    if (!tty_) return;
    const double s = std::chrono::duration<double>(Clock::now() - t0_).count();
    std::printf("\r\033[K[%zu/%zu done, %zu running, %zu failed, %s, %.1f s]", done_, total_, active_, failed_,
                human_bytes(static_cast<double>(bytes_)).c_str(), s);
    std::fflush(stdout);
  }
  void summary(bool interrupted) {
    clear();
    const double s = std::chrono::duration<double>(Clock::now() - t0_).count();
    std::printf("%zu of %zu URLs fetched, %zu failed, %s in %.3f s%s\n", done_, total_, failed_,
                human_bytes(static_cast<double>(bytes_)).c_str(), s, interrupted ? " (interrupted)" : "");
    std::fflush(stdout);
  }
  std::size_t failed() const { return failed_; }

 private:
  void clear() {
    if (tty_) std::printf("\r\033[K");
  }
  std::size_t total_, done_ = 0, active_ = 0, failed_ = 0;
  std::uint64_t bytes_ = 0;
  bool tty_;
  Clock::time_point t0_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greenev-crawl: fetch URLs concurrently (libcurl's easy API on a Pool of fibers);\n"
               "prints status, bytes and seconds per URL, in completion order."};
  Options o;
  std::vector<std::string> urls;
  std::string input;
  app.add_option("urls", urls, "URLs to fetch");
  app.add_option("-i,--input", input, "read URLs from FILE, one per line ('-': stdin; '#' starts a comment)");
  app.add_option("-c,--concurrency", o.concurrency, "transfers at once (the Pool's size)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("-t,--timeout", o.timeout_s, "seconds per URL: lookup, connect and transfer together")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("!--no-follow", o.follow, "do not follow redirects");
  app.add_option("-A,--user-agent", o.user_agent, "User-Agent header")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!input.empty()) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (input != "-") {
      file.open(input);
      if (!file) {
        std::fprintf(stderr, "greenev-crawl: cannot read %s\n", input.c_str());
        return 2;
      }
      in = &file;
    }
    for (std::string line; std::getline(*in, line);) {
      const auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      const auto e = line.find_last_not_of(" \t\r");
      urls.push_back(line.substr(b, e - b + 1));
    }
  }
  if (urls.empty()) {
    std::fprintf(stderr, "greenev-crawl: no URLs (give them as arguments or with --input; see --help)\n");
    return 2;
  }

  return greenev::examples::guarded_main("greenev-crawl", [&] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    Report report(urls.size(), ::isatty(STDOUT_FILENO) == 1);
    greenev::Pool pool(o.concurrency);
    int signals = 0;
    auto on_signal = [&] {
      if (++signals == 1) {
        std::fprintf(stderr, "greenev-crawl: stopping: no new transfers, waiting for %zu running (again to cut off)\n",
                     pool.size());
      } else {
        pool.kill(greenev::no_wait);
      }
    };
    greenev::SignalHandler on_int(SIGINT, on_signal), on_term(SIGTERM, on_signal);
    // Progress ticks while transfers run (time moves even when nothing completes).
    auto ticker = greenev::spawn(greenev::SpawnOptions{"greenev-crawl:progress"}, [&] {
      for (;;) {
        greenev::sleep(std::chrono::milliseconds(250));
        report.progress();
      }
    });
    for (const std::string& url : urls) {
      if (signals) break;
      // spawn() waits for a free slot; a signal may come meanwhile, so the fiber checks again.
      pool.spawn(greenev::SpawnOptions{"greenev-crawl " + url}, [&report, &o, &signals, url] {
        if (signals) return;
        report.started();
        report.done(fetch(url, o));
      });
    }
    pool.join();
    ticker.kill();
    report.summary(signals > 0);
    curl_global_cleanup();
    return report.failed() == 0 ? 0 : 1;
  });
}
