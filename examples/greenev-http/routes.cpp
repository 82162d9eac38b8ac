// examples/greenev-http/routes.cpp — what greenev-http answers: GET / (hello), GET /file/<name>
// from --root, POST /echo; response heads with a Date cached per second.
//
// Files: the name is percent-decoded and must be a plain relative path — no empty, "." or ".."
// segment, no NUL or backslash — and the last component is opened with O_NOFOLLOW relative to the
// root directory; anything else is 404 (never a hint whether it exists). Regular files only.
// Rejected: realpath() + prefix check (racy with renames, and it follows symlinks out of the root).
#include "http.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>

namespace http {

namespace {

constexpr std::string_view kHello = "Hello, world!\n";

// "Date: ...\r\n", rebuilt at most once per second (the hub thread is the only caller).
std::string_view date_line() {
  static thread_local time_t cached = 0;
  static thread_local char buf[64];
  static thread_local std::size_t len = 0;
  const time_t now = ::time(nullptr);
  if (now != cached) {
    cached = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  }
  return {buf, len};
}

std::string_view mime_type(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "css") return "text/css";
  if (ext == "js") return "text/javascript";
  if (ext == "json") return "application/json";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "svg") return "image/svg+xml";
  return "application/octet-stream";
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes and validates a relative file name; false if unsafe or malformed.
bool safe_name(std::string_view raw, std::string& out) {
  const auto q = raw.find_first_of("?#");
  if (q != std::string_view::npos) raw = raw.substr(0, q);
  out.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      const int h = hexval(raw[i + 1]), l = hexval(raw[i + 2]);
      if (h < 0 || l < 0) return false;
      c = static_cast<char>(h * 16 + l);
      i += 2;
    }
    if (c == '\0' || c == '\\') return false;
    out.push_back(c);
  }
  if (out.empty() || out.front() == '/') return false;
  std::size_t start = 0;
  for (;;) {  // every segment non-empty and not "." or ".."
    const auto slash = out.find('/', start);
    const std::string_view seg = std::string_view(out).substr(start, slash == std::string::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

void simple(std::string& out, int status, std::string_view body, bool keep_alive, bool head_only,
            std::string_view type = "text/plain; charset=utf-8") {
  append_head(out, status, type, body.size(), keep_alive);
  if (!head_only) out.append(body);
}

RouteResult serve_file(std::string_view rest, bool keep_alive, bool head_only, bool can_sendfile, const Config& cfg,
                       std::string& out) {
  RouteResult rr;
  std::string name;
  if (cfg.root.empty() || !safe_name(rest, name)) {
    simple(out, 404, "not found\n", keep_alive, head_only);
    return rr;
  }
  const std::string path = cfg.root + "/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    simple(out, 404, "not found\n", keep_alive, head_only);
    return rr;
  }
  const auto len = static_cast<std::size_t>(st.st_size);
  append_head(out, 200, mime_type(name), len, keep_alive);
  if (head_only || len == 0) {
    ::close(fd);
    return rr;
  }
  if (can_sendfile) {
    rr.file_fd = fd;
    rr.file_len = len;
    return rr;
  }
  // TLS: read through the cooperative file path (the patched read runs on the thread pool).
  const std::size_t base = out.size();
  out.resize(base + len);
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::read(fd, out.data() + base + got, len - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got < len) {  // truncated meanwhile: the promised length cannot be kept; close instead
    out.resize(base + got);
    rr.file_len = static_cast<std::size_t>(-1);
  }
  return rr;
}

}  // namespace

std::string_view reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void append_head(std::string& out, int status, std::string_view content_type, std::size_t len, bool keep_alive) {
  // std::to_chars, not snprintf: formatting two numbers was 2% of a hello request's CPU (perf).
  char num[24];
  out.append("HTTP/1.1 ");
  out.append(num, static_cast<std::size_t>(std::to_chars(num, num + sizeof num, status).ptr - num));
  out.push_back(' ');
  out.append(reason(status));
  out.append("\r\nServer: greenev\r\n");
  out.append(date_line());
  out.append("Content-Type: ");
  out.append(content_type);
  out.append("\r\nContent-Length: ");
  out.append(num, static_cast<std::size_t>(std::to_chars(num, num + sizeof num, len).ptr - num));
  out.append("\r\n");
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
}

RouteResult route(std::string_view method, std::string_view url, const std::string& body, bool keep_alive,
                  bool head_only, bool can_sendfile, const Config& cfg, std::string& out) {
  const std::string_view path = url.substr(0, url.find('?'));
  const bool get = method == "GET" || method == "HEAD";
  if (path == "/") {
    if (get) simple(out, 200, kHello, keep_alive, head_only, "text/plain");
    else simple(out, 405, "method not allowed\n", keep_alive, false);
    return {};
  }
  if (path.rfind("/file/", 0) == 0) {
    if (get) return serve_file(url.substr(6), keep_alive, head_only, can_sendfile, cfg, out);
    simple(out, 405, "method not allowed\n", keep_alive, false);
    return {};
  }
  if (path == "/echo") {
    if (method == "POST" || method == "PUT") simple(out, 200, body, keep_alive, false, "application/octet-stream");
    else simple(out, 405, "method not allowed\n", keep_alive, head_only);
    return {};
  }
  simple(out, 404, "not found\n", keep_alive, head_only);
  return {};
}

}  // namespace http
