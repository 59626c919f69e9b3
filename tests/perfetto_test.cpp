// tests/perfetto_test.cpp — `iosim trace --perfetto`: every bundled scenario exports trace-event JSON that
// obeys the format's rules (checked here, phase by phase), the same seed gives the same bytes, wake-ups and
// data are flows, and the counters move.
#include "tools/perfetto.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tools/driver.hpp"

namespace iosim {
namespace {

using json = nlohmann::json;

std::string source_dir() {
  const char* dir = std::getenv("IOSIM_SOURCE_DIR");
  return dir ? dir : ".";
}

struct Exported {
  std::string text;
  PerfettoSummary summary;
  std::vector<sim::TraceEvent> events;  // the raw trace, to compare with
  std::vector<std::string> task_names;  // by task id - 1
};

Exported export_scenario(const std::string& path, std::optional<std::uint64_t> seed = std::nullopt) {
  Result<ScenarioSpec> loaded = load_scenario_file(path);
  EXPECT_TRUE(loaded) << path;
  RunRequest request{"sim", seed, std::nullopt, true};
  Exported exported;
  run_scenario(loaded.value(), request, [&](SimOs& os) {
    std::ostringstream out;
    exported.summary = write_perfetto_json(out, os);
    exported.text = out.str();
    exported.events = os.trace().events();
    for (const sim::TraceEvent& event : exported.events) {
      if (event.kind == sim::EventKind::task_spawn)
        exported.task_names.emplace_back(os.trace().name(event.subject));
    }
  });
  return exported;
}

// --- the trace-event format's rules, as Chrome's viewer and Perfetto's JSON importer read them ---

using TrackKey = std::pair<long long, long long>;  // (pid, tid)

struct FormatChecker {
  std::vector<std::string> violations;
  std::set<long long> named_pids;
  std::set<TrackKey> named_tracks;
  std::set<long long> used_pids;
  std::set<TrackKey> used_tracks;
  std::map<TrackKey, std::vector<std::string>> open;  // B slice names, innermost last
  std::map<TrackKey, double> last_ts;
  std::map<std::pair<long long, std::string>, double> last_counter_ts;
  std::map<TrackKey, std::size_t> pending_finish;  // a finish without "bp":"e" waits for the next slice
  std::map<std::string, std::pair<std::string, double>> flow_starts;  // id → (cat, ts)
  std::map<std::string, std::pair<std::string, double>> flow_finishes;

  void fail(std::size_t index, const std::string& what) {
    if (violations.size() < 20) violations.push_back("event " + std::to_string(index) + ": " + what);
  }

  void check_metadata(std::size_t index, const json& event) {
    const std::string name = event.value("name", "");
    if (!event.contains("pid") || !event["pid"].is_number_integer()) return fail(index, "M without pid");
    const long long pid = event["pid"];
    const bool thread = name == "thread_name" || name == "thread_sort_index";
    if (thread && !(event.contains("tid") && event["tid"].is_number_integer()))
      return fail(index, "M without tid");
    if (name == "process_name" || name == "thread_name") {
      if (!event.contains("args") || !event["args"].contains("name") || !event["args"]["name"].is_string()) {
        return fail(index, name + " without args.name");
      }
      if (name == "process_name") named_pids.insert(pid);
      if (name == "thread_name") named_tracks.insert({pid, event["tid"].get<long long>()});
    } else if (name == "process_sort_index" || name == "thread_sort_index") {
      if (!event["args"].contains("sort_index") || !event["args"]["sort_index"].is_number_integer()) {
        return fail(index, name + " without an integer args.sort_index");
      }
    } else {
      fail(index, "unknown metadata " + name);
    }
  }

  void check_slice_phase(std::size_t index, const json& event, char phase, const TrackKey& track, double ts) {
    if (phase == 'B' || phase == 'X' || phase == 'i') {
      if (const auto pending = pending_finish.find(track); pending != pending_finish.end())
        pending_finish.erase(pending);
    }
    switch (phase) {
      case 'B':
        open[track].push_back(event["name"]);
        break;
      case 'E':
        if (open[track].empty()) return fail(index, "E without an open B on its track");
        if (event.contains("name") && event["name"] != open[track].back()) {
          return fail(index,
                      "E closes " + open[track].back() + " but names " + event["name"].get<std::string>());
        }
        open[track].pop_back();
        break;
      case 'X':
        if (!event.contains("dur") || !event["dur"].is_number() || event["dur"].get<double>() < 0) {
          fail(index, "X without a duration >= 0");
        }
        break;
      case 'i': {
        const std::string scope = event.value("s", "t");
        if (scope != "t" && scope != "p" && scope != "g") fail(index, "instant with scope " + scope);
        break;
      }
      default:
        break;
    }
    (void)ts;
  }

  void check_flow(std::size_t index, const json& event, char phase, const TrackKey& track, double ts) {
    if (!event.contains("id") || !event.contains("cat") || !event["cat"].is_string()) {
      return fail(index, "flow event without id or cat");
    }
    const std::string id = event["id"].dump();
    const std::string cat = event["cat"];
    if (phase == 's') {
      if (open[track].empty()) fail(index, "flow start with no enclosing slice to bind to");
      if (!flow_starts.emplace(id, std::pair{cat, ts}).second)
        fail(index, "flow id " + id + " started twice");
    } else if (phase == 'f') {
      if (event.value("bp", "") == "e") {
        if (open[track].empty()) fail(index, "flow finish (bp e) with no enclosing slice");
      } else {
        pending_finish[track] = index;
      }
      if (!flow_finishes.emplace(id, std::pair{cat, ts}).second)
        fail(index, "flow id " + id + " finished twice");
    }
  }

  void check_event(std::size_t index, const json& event) {
    if (!event.is_object() || !event.contains("ph") || !event["ph"].is_string()) return fail(index, "no ph");
    const std::string ph = event["ph"];
    if (ph.size() != 1 || std::string("BEXiCstfM").find(ph[0]) == std::string::npos)
      return fail(index, "ph " + ph);
    const char phase = ph[0];
    if (phase == 'M') return check_metadata(index, event);
    for (const char* field : {"pid", "tid"}) {
      if (!event.contains(field) || !event[field].is_number_integer())
        return fail(index, std::string("no ") + field);
    }
    if (!event.contains("ts") || !event["ts"].is_number() || event["ts"].get<double>() < 0) {
      return fail(index, "no ts >= 0");
    }
    if (phase != 'E' && !(event.contains("name") && event["name"].is_string())) return fail(index, "no name");
    const TrackKey track{event["pid"].get<long long>(), event["tid"].get<long long>()};
    const double ts = event["ts"];
    used_pids.insert(track.first);
    used_tracks.insert(track);
    if (phase == 'C') {
      if (!event.contains("args") || !event["args"].is_object() || event["args"].empty()) {
        return fail(index, "counter without args");
      }
      for (const auto& [key, value] : event["args"].items()) {
        if (!value.is_number()) fail(index, "counter series " + key + " is not a number");
      }
      auto [it, added] = last_counter_ts.try_emplace({track.first, event["name"]}, ts);
      if (!added && ts < it->second) fail(index, "counter time goes backwards");
      it->second = ts;
      return;
    }
    if (const auto pending = pending_finish.find(track); pending != pending_finish.end()) {
      const bool slice = phase == 'B' || phase == 'X' || phase == 'i';
      if (!slice || last_ts[track] != ts) fail(index, "flow finish not followed by a slice at its time");
    }
    auto [last, added] = last_ts.try_emplace(track, ts);
    if (!added && ts < last->second) fail(index, "time goes backwards on its track");
    last->second = ts;
    if (phase == 's' || phase == 't' || phase == 'f') return check_flow(index, event, phase, track, ts);
    check_slice_phase(index, event, phase, track, ts);
  }

  void check_end() {
    for (const auto& [track, names] : open) {
      if (!names.empty())
        violations.push_back("unclosed slice " + names.back() + " on tid " + std::to_string(track.second));
    }
    for (const auto& [track, index] : pending_finish) fail(index, "flow finish never bound to a slice");
    for (const auto& [id, start] : flow_starts) {
      const auto finish = flow_finishes.find(id);
      if (finish == flow_finishes.end())
        violations.push_back("flow " + id + " has no finish");
      else if (finish->second.first != start.first)
        violations.push_back("flow " + id + " changes category");
      else if (finish->second.second < start.second)
        violations.push_back("flow " + id + " ends before it starts");
    }
    for (const auto& [id, finish] : flow_finishes) {
      if (!flow_starts.contains(id)) violations.push_back("flow " + id + " finishes without a start");
    }
    for (const long long pid : used_pids) {
      if (!named_pids.contains(pid))
        violations.push_back("pid " + std::to_string(pid) + " has no process_name");
    }
    for (const TrackKey& track : used_tracks) {
      if (!named_tracks.contains(track))
        violations.push_back("tid " + std::to_string(track.second) + " has no thread_name");
    }
  }
};

std::vector<std::string> format_violations(const std::string& text) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) return {"not JSON"};
  if (!document.is_object() || !document.contains("traceEvents") || !document["traceEvents"].is_array()) {
    return {"no traceEvents array"};
  }
  FormatChecker checker;
  if (document.value("displayTimeUnit", "") != "ns" && document.value("displayTimeUnit", "") != "ms") {
    checker.violations.push_back("displayTimeUnit must be ms or ns");
  }
  // Metadata may come anywhere; read it first so the per-event pass can rely on it.
  const json& events = document["traceEvents"];
  for (std::size_t index = 0; index < events.size(); ++index) {
    if (events[index].value("ph", "") == "M") checker.check_event(index, events[index]);
  }
  for (std::size_t index = 0; index < events.size(); ++index) {
    if (events[index].value("ph", "") != "M") checker.check_event(index, events[index]);
  }
  checker.check_end();
  return checker.violations;
}

std::vector<std::string> bundled_scenarios() {
  std::vector<std::string> files;
  for (const char* directory : {"/scenarios", "/scenarios/bugs"}) {
    for (const auto& entry : std::filesystem::directory_iterator(source_dir() + directory)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

TEST(Perfetto, EveryBundledScenarioExportsValidTraceEventJson) {
  const std::vector<std::string> files = bundled_scenarios();
  ASSERT_GE(files.size(), 15u);
  for (const std::string& file : files) {
    const Exported exported = export_scenario(file);
    EXPECT_EQ(joined(format_violations(exported.text)), "") << file;
    EXPECT_GT(exported.summary.flow_count, 0u) << file;
    EXPECT_GT(exported.summary.track_count, exported.task_names.size()) << file;
  }
}

TEST(Perfetto, TheCheckerRejectsBrokenDocuments) {
  // The checker itself must be able to fail: one broken rule per document.
  const std::string head = R"({"displayTimeUnit":"ns","traceEvents":[
    {"ph":"M","pid":1,"name":"process_name","args":{"name":"tasks"}},
    {"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"t"}},)";
  EXPECT_NE(format_violations(head + R"({"ph":"B","pid":1,"tid":1,"ts":1,"name":"a"}]})"),
            std::vector<std::string>{});
  EXPECT_NE(format_violations(head + R"({"ph":"E","pid":1,"tid":1,"ts":1,"name":"a"}]})"),
            std::vector<std::string>{});
  EXPECT_NE(format_violations(head + R"({"ph":"X","pid":1,"tid":1,"ts":1,"name":"a","dur":-1}]})"),
            std::vector<std::string>{});
  EXPECT_NE(format_violations(head + R"({"ph":"C","pid":1,"tid":1,"ts":1,"name":"c","args":{"n":"x"}}]})"),
            std::vector<std::string>{});
  EXPECT_NE(format_violations(head + R"({"ph":"B","pid":1,"tid":1,"ts":2,"name":"a"},
      {"ph":"s","pid":1,"tid":1,"ts":2,"name":"w","cat":"w","id":1},{"ph":"E","pid":1,"tid":1,"ts":3}]})"),
            std::vector<std::string>{});  // a start without a finish
  EXPECT_NE(format_violations(head + R"({"ph":"i","pid":1,"tid":2,"ts":1,"name":"a","s":"t"}]})"),
            std::vector<std::string>{});  // tid 2 has no thread_name
  EXPECT_NE(format_violations(head + R"({"ph":"i","pid":1,"tid":1,"ts":2,"name":"a"},
      {"ph":"i","pid":1,"tid":1,"ts":1,"name":"b"}]})"),
            std::vector<std::string>{});  // time goes backwards
  EXPECT_EQ(format_violations(head + R"({"ph":"B","pid":1,"tid":1,"ts":2,"name":"a"},
      {"ph":"s","pid":1,"tid":1,"ts":2,"name":"w","cat":"w","id":1},{"ph":"E","pid":1,"tid":1,"ts":3},
      {"ph":"f","pid":1,"tid":1,"ts":4,"name":"w","cat":"w","id":1},{"ph":"i","pid":1,"tid":1,"ts":4,"name":"b"}]})"),
            std::vector<std::string>{});
}

TEST(Perfetto, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string scenario = source_dir() + "/scenarios/echo_epoll_lt.json";
  const Exported first = export_scenario(scenario, 3);
  const Exported second = export_scenario(scenario, 3);
  const Exported other = export_scenario(scenario, 4);
  EXPECT_EQ(first.text, second.text);
  EXPECT_NE(first.text, other.text);
}

const json* find_flow(const json& events, char phase, const std::string& id) {
  for (const json& event : events) {
    if (event["ph"] == std::string(1, phase) && event.contains("id") && event["id"].dump() == id)
      return &event;
  }
  return nullptr;
}

TEST(Perfetto, AWakeUpIsAFlowFromTheWakerToTheWokenTask) {
  const Exported exported = export_scenario(source_dir() + "/scenarios/echo_epoll_lt.json");
  const json events = json::parse(exported.text)["traceEvents"];
  // Every wake by a task in the raw trace has a "wake" flow starting on the waker's track at that time and
  // finishing on the woken task's track.
  int checked = 0;
  for (const sim::TraceEvent& wake : exported.events) {
    if (wake.kind != sim::EventKind::wake || wake.task == sim::no_task) continue;
    const double ts = static_cast<double>(wake.time_ns) / 1000.0;
    const json* start = nullptr;
    for (const json& event : events) {
      if (event["ph"] == "s" && event["cat"] == "wake" && event["tid"] == wake.task && event["ts"] == ts) {
        start = &event;
      }
    }
    ASSERT_NE(start, nullptr) << "no wake flow from task " << wake.task << " at " << ts;
    const json* finish = find_flow(events, 'f', (*start)["id"].dump());
    ASSERT_NE(finish, nullptr);
    EXPECT_EQ((*finish)["tid"], wake.arg0) << "the flow ends on the woken task";
    EXPECT_EQ((*finish)["pid"], perfetto_pid_tasks);
    EXPECT_GE((*finish)["ts"].get<double>(), ts);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// The values one counter series of `object` takes, in order.
std::vector<std::int64_t> counter_values(const json& events, const std::string& object,
                                         const std::string& series) {
  std::vector<std::int64_t> values;
  for (const json& event : events) {
    if (event["ph"] == "C" && event["name"] == object && event["args"].contains(series)) {
      values.push_back(event["args"][series]);
    }
  }
  return values;
}

bool rises_and_falls(const std::vector<std::int64_t>& values) {
  const auto peak = std::max_element(values.begin(), values.end());
  return peak != values.end() && *peak > 0 && std::find(peak, values.end(), 0) != values.end();
}

TEST(Perfetto, TheEpollReadyListAndSocketQueueCountersRiseAndFall) {
  const Exported exported = export_scenario(source_dir() + "/scenarios/echo_epoll_lt.json");
  const json events = json::parse(exported.text)["traceEvents"];
  const std::vector<std::int64_t> ready = counter_values(events, "eventpoll#2", "rdllist");
  EXPECT_TRUE(rises_and_falls(ready)) << ::testing::PrintToString(ready);
  int sockets_with_data = 0;
  for (const char* socket : {"tcp#3", "tcp#4", "tcp#5", "tcp#6", "tcp#7", "tcp#8", "tcp#9", "tcp#10"}) {
    const std::vector<std::int64_t> recv_q = counter_values(events, socket, "recv-Q bytes");
    const std::vector<std::int64_t> send_q = counter_values(events, socket, "send-Q bytes");
    if (rises_and_falls(recv_q) && rises_and_falls(send_q)) ++sockets_with_data;
  }
  EXPECT_EQ(sockets_with_data, 8) << "every client and server socket queues data both ways, then drains";
}

// Os::name_fd labels names ("pipe#1r(requests)", "epi(eventpoll#3(loop), fd 0)"): a labelled pipe end still
// draws on its pipe's track and a labelled epoll's items on the epoll's, under its label.
TEST(Perfetto, LabelledObjectsKeepTheirOwnersTracks) {
  SimConfig config;
  config.capture_trace = true;
  SimOs os(config);
  os.run([&] {
    int fds[2];
    ASSERT_EQ(os.pipe2(fds, 0), 0);
    ASSERT_EQ(os.name_fd(fds[0], "requests"), 0);
    const int epfd = os.epoll_create1(0);
    ASSERT_EQ(os.name_fd(epfd, "loop"), 0);
    epoll_event event{EPOLL::IN, 0};
    ASSERT_EQ(os.epoll_ctl(epfd, EPOLL::CTL_ADD, fds[0], &event), 0);
    ASSERT_EQ(os.write(fds[1], "x", 1), 1);
    epoll_event ready[1];
    ASSERT_EQ(os.epoll_wait(epfd, ready, 1, 0), 1);
  });
  std::ostringstream out;
  write_perfetto_json(out, os);
  const json document = json::parse(out.str());
  std::set<std::string> tracks;
  for (const json& event : document["traceEvents"]) {
    if (event["ph"] == "M" && event["name"] == "thread_name") tracks.insert(event["args"]["name"]);
  }
  EXPECT_TRUE(tracks.contains("pipe#1")) << ::testing::PrintToString(tracks);
  EXPECT_TRUE(tracks.contains("eventpoll#2(loop)")) << ::testing::PrintToString(tracks);
  for (const std::string& track : tracks) {
    EXPECT_FALSE(track.starts_with("pipe#1r") || track.starts_with("epi(")) << track << " has a track of its own";
  }
}

TEST(Perfetto, ASegmentIsAFlowFromItsSendToItsDelivery) {
  const Exported exported = export_scenario(source_dir() + "/scenarios/echo_epoll_lt.json");
  const json events = json::parse(exported.text)["traceEvents"];
  int checked = 0;
  for (const json& event : events) {
    if (event["ph"] != "s" || event["cat"] != "data") continue;
    const json* finish = find_flow(events, 'f', event["id"].dump());
    ASSERT_NE(finish, nullptr);
    EXPECT_EQ((*finish)["pid"], perfetto_pid_sockets) << "data arrives at the receiving socket's track";
    EXPECT_GT((*finish)["ts"].get<double>(), event["ts"].get<double>()) << "after the loopback latency";
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

}  // namespace
}  // namespace iosim
