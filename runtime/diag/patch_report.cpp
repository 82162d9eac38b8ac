// runtime/diag/patch_report.cpp — the patch self-test: which loaded object imports which blocking
// libc call, and whether greenev's definition is the one those imports reach.
//
// Imports are read from each loaded object's dynamic relocations (dl_iterate_phdr, PT_DYNAMIC:
// DT_JMPREL + DT_RELA entries naming an undefined symbol), i.e. exactly the symbols the dynamic
// linker binds for it. "Patched" is the list generated from the built patches/ objects
// (g_patched_symbols, cmake/gen_patched_symbols.cmake), so new patches show up with no edit here.
// "Blocking but not patched" is kBlocking below minus that list: the one hand-kept part, a list of
// libc calls known to block (stdio on fds, waits for children, file locks, SysV/POSIX IPC, thread
// synchronisation, raw syscall()). Whether the patches win: dlsym(RTLD_DEFAULT, name) is what a
// library's import binds to; it must land in greenev's own object (libgreenev.so, or the program
// itself when greenev is linked statically — then the program must export the symbols).
// Rejected: reading section headers or .symtab from disk (stripped objects, deleted files) and
// interposing dlopen to track later loads (report() simply looks again when called).
#include "diag/hub_diag.hpp"

#include <greenev/diagnostics.hpp>
#include <greenev/patches.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <set>
#include <string>
#include <string_view>
#include <unistd.h>

namespace greenev::detail {

namespace {

// libc calls that block the calling thread (beyond the fd calls greenev patches), for the
// "not patched" column. Names already in g_patched_symbols are reported as patched instead.
constexpr const char* kBlocking[] = {
    // stdio on fds (a FILE* over a pipe or socket blocks in the real read/write, inside libc)
    "fread", "fwrite", "fgets", "fputs", "fgetc", "fputc", "getc", "putc", "_IO_getc", "_IO_putc", "getchar",
    "putchar", "puts", "getline", "getdelim", "__getdelim", "fscanf", "scanf", "__isoc99_fscanf", "__isoc99_scanf",
    "fprintf", "printf", "vfprintf", "vprintf", "__fprintf_chk", "__printf_chk", "__vfprintf_chk", "fflush",
    "fclose", "fread_unlocked", "fwrite_unlocked", "fgets_unlocked", "fputs_unlocked", "__fread_chk",
    "__fgets_chk", "__fread_unlocked_chk",
    // children
    "waitpid", "wait", "wait3", "wait4", "waitid", "system", "popen", "pclose",
    // file locks
    "flock", "lockf", "lockf64",
    // SysV and POSIX IPC
    "msgrcv", "msgsnd", "semop", "semtimedop", "mq_receive", "mq_send", "mq_timedreceive", "mq_timedsend",
    // thread synchronisation (blocks the whole hub thread, and deadlocks if the holder is a fiber)
    "sem_wait", "sem_timedwait", "sem_clockwait", "pthread_cond_wait", "pthread_cond_timedwait",
    "pthread_cond_clockwait", "pthread_mutex_lock", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
    "pthread_join", "pthread_barrier_wait",
    // signals
    "sigwait", "sigwaitinfo", "sigtimedwait", "sigsuspend", "pause",
    // sleeping
    "sleep", "usleep", "nanosleep", "clock_nanosleep",
    // kernel-side copies and syncs on fds
    "sendfile", "sendfile64", "splice", "tee", "copy_file_range", "sync", "syncfs", "msync",
    // the raw system call: nothing can patch what it does
    "syscall",
};

// Patched calls with a blocking corner the patch does not cover. Hand-kept: keep in step with
// patches/ (see that file's opening comment).
constexpr std::pair<const char*, const char*> kCaveats[] = {
    {"fcntl", "fcntl(F_SETLKW/F_OFD_SETLKW) lock waits still block the hub"},
};

std::string canonical(const std::string& name);

struct Collected {
  std::string path;
  std::set<std::string> imports;
};

template <class T>
T* dyn_ptr(const dl_phdr_info* info, ElfW(Addr) v) {
  // ld.so relocates d_ptr entries in place for most objects; the vDSO and some others keep them
  // relative to the load base.
  return reinterpret_cast<T*>(v < info->dlpi_addr ? v + info->dlpi_addr : v);
}

int on_object(dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::vector<Collected>*>(data);
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (!dyn || name.find("linux-vdso") != std::string::npos) return 0;
  ElfW(Addr) symtab = 0, strtab = 0, jmprel = 0, rela = 0;
  std::size_t pltrelsz = 0, relasz = 0, strsz = 0;
  for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = d->d_un.d_ptr; break;
      case DT_STRTAB: strtab = d->d_un.d_ptr; break;
      case DT_STRSZ: strsz = d->d_un.d_val; break;
      case DT_JMPREL: jmprel = d->d_un.d_ptr; break;
      case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
      case DT_RELA: rela = d->d_un.d_ptr; break;
      case DT_RELASZ: relasz = d->d_un.d_val; break;
      default: break;
    }
  }
  if (!symtab || !strtab) return 0;
  const auto* syms = dyn_ptr<const ElfW(Sym)>(info, symtab);
  const auto* strs = dyn_ptr<const char>(info, strtab);
  Collected c;
  c.path = canonical(name);
  auto walk = [&](ElfW(Addr) table, std::size_t bytes) {
    if (!table) return;
    const auto* r = dyn_ptr<const ElfW(Rela)>(info, table);
    for (std::size_t i = 0; i < bytes / sizeof(ElfW(Rela)); ++i) {
      const auto idx = ELF64_R_SYM(r[i].r_info);
      if (idx == 0) continue;
      const ElfW(Sym)& s = syms[idx];
      if (s.st_shndx != SHN_UNDEF || s.st_name == 0 || (strsz && s.st_name >= strsz)) continue;
      c.imports.insert(strs + s.st_name);
    }
  };
  walk(jmprel, pltrelsz);
  walk(rela, relasz);
  out->push_back(std::move(c));
  return 0;
}

// An object's path as one spelling: the main program's "" (or argv[0]) becomes /proc/self/exe's
// target; others are resolved through symlinks.
std::string canonical(const std::string& name) {
  char buf[4096];
  if (name.empty()) {
    ssize_t k = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return k > 0 ? std::string(buf, static_cast<std::size_t>(k)) : std::string("(main program)");
  }
  if (char* r = ::realpath(name.c_str(), nullptr)) {
    std::string out(r);
    std::free(r);
    return out;
  }
  return name;
}

std::string object_of(const void* addr) {
  Dl_info dl{};
  if (!dladdr(addr, &dl) || !dl.dli_fname) return {};
  return canonical(dl.dli_fname);
}

bool is_sanitizer_runtime(std::string_view path) {
  auto base = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  return base.starts_with("libasan") || base.starts_with("libtsan") || base.starts_with("libubsan") ||
         base.starts_with("liblsan") || base.starts_with("libmsan");
}

// Loaded objects in search order (the main program first), as dl_iterate_phdr names them.
int collect_name(dl_phdr_info* info, size_t, void* data) {
  std::string n = info->dlpi_name ? info->dlpi_name : "";
  if (n.find("linux-vdso") == std::string::npos) static_cast<std::vector<std::string>*>(data)->push_back(n);
  return 0;
}

// The object whose definition of `name` a library's import reaches. A sanitizer runtime's
// interceptor comes first in the search order but forwards to the next definition (RTLD_NEXT),
// so it is looked through: the first other object that defines the symbol itself.
std::string binding_object(const char* name, const std::vector<std::string>& order) {
  void* p = dlsym(RTLD_DEFAULT, name);
  if (!p) return {};
  std::string obj = object_of(p);
  if (!is_sanitizer_runtime(obj)) return obj;
  for (const std::string& n : order) {
    const std::string path = canonical(n);
    if (is_sanitizer_runtime(path)) continue;
    void* h = dlopen(n.empty() ? nullptr : n.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!h) continue;
    void* q = dlsym(h, name);  // searches h's dependencies too: keep only h's own definition
    dlclose(h);
    if (q && object_of(q) == path) return path;
  }
  return obj;
}

bool is_libc_or_loader(std::string_view path) {
  auto base = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  return base.starts_with("libc.so") || base.starts_with("ld-linux") || base.starts_with("libpthread.so") ||
         base.starts_with("libdl.so") || base.starts_with("libm.so") || base.starts_with("librt.so");
}

}  // namespace

}  // namespace greenev::detail

namespace greenev::patches {

Report report() {
  using namespace greenev::detail;
  patches::Disable real_calls;  // reads of /proc: plain calls
  Report rep;
  std::set<std::string> patched;
  for (std::size_t i = 0; i < g_patched_symbol_count; ++i) {
    rep.patched_symbols.emplace_back(g_patched_symbols[i]);
    patched.insert(g_patched_symbols[i]);
  }
  rep.greenev_object = object_of(reinterpret_cast<const void*>(&report));

  std::vector<std::string> order;
  dl_iterate_phdr(&collect_name, &order);
  for (const std::string& s : rep.patched_symbols) {
    const std::string where = binding_object(s.c_str(), order);
    if (where.empty()) continue;  // nobody defines it here: nothing to interpose
    if (where != rep.greenev_object) rep.not_winning.push_back(s);
  }

  std::vector<Collected> objects;
  dl_iterate_phdr(&on_object, &objects);
  for (Collected& c : objects) {
    if (c.path == rep.greenev_object || is_libc_or_loader(c.path)) continue;
    ObjectReport o;
    o.path = c.path;
    for (const std::string& imp : c.imports) {
      if (patched.count(imp)) o.patched.push_back(imp);
      else if (std::find_if(std::begin(kBlocking), std::end(kBlocking), [&](const char* b) { return imp == b; }) !=
               std::end(kBlocking))
        o.unpatched.push_back(imp);
    }
    if (!o.patched.empty() || !o.unpatched.empty()) rep.objects.push_back(std::move(o));
  }
  return rep;
}

std::string Report::text() const {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  std::string t = "greenev patch report\n";
  t += "  greenev's definitions: " + greenev_object + "\n";
  if (not_winning.empty()) {
    t += "  interposition: greenev's definitions win for every patched symbol\n";
  } else {
    t += "  interposition: PATCHES DO NOT WIN for " + std::to_string(not_winning.size()) +
         " symbol(s) (libraries calling them block the hub): " + join(not_winning) + "\n";
    t += "    fix: link libgreenev before libc (no explicit -lc ahead of it, no RTLD_DEEPBIND); when "
         "linking greenev statically, export the symbols (-rdynamic)\n";
  }
  t += "  patched symbols (" + std::to_string(patched_symbols.size()) + "): " + join(patched_symbols) + "\n";
  std::size_t bad = 0;
  for (const ObjectReport& o : objects) {
    t += "  " + o.path + "\n";
    if (!o.patched.empty()) t += "    patched (yield in fibers): " + join(o.patched) + "\n";
    if (!o.unpatched.empty()) {
      ++bad;
      t += "    NOT patched (block the hub): " + join(o.unpatched) + "\n";
    }
    for (const auto& [sym, note] : detail::kCaveats)
      if (std::find(o.patched.begin(), o.patched.end(), sym) != o.patched.end()) t += std::string("    note: ") + note + "\n";
  }
  t += "  " + std::to_string(bad) + " object(s) import blocking calls greenev does not patch\n";
  return t;
}

}  // namespace greenev::patches
