// tools/main.cpp — the iosim command line (CLI11): parses, validates, and hands each subcommand to commands.cpp.
// Usage errors exit 2 with a message that names the argument; --help works on every subcommand.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>

#include "tools/commands.hpp"

namespace {

// --seed takes the full unsigned 64-bit range; CLI11 would wrap "-5" around, so digits only.
const CLI::Validator seed_digits(
    [](std::string& text) -> std::string {
      const bool digits = !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || (text.size() == 20 && text > "18446744073709551615")) {
        return "must be an unsigned 64-bit integer, got '" + text + "'";
      }
      return {};
    },
    "UINT64", "seed");

bool is_command(const std::string& word) { return word == "run" || word == "diff" || word == "list"; }

constexpr const char* overview =
    "iosim: a deterministic simulator of the operating system's I/O interface.\n"
    "Runs bundled server applications on a virtual Linux kernel driven by one seed (same seed, same run,\n"
    "same trace-hash), or on the real kernel, and checks what their clients observed.\n"
    "Exit codes: 0 the checks hold, 1 a check failed (a `reproduce:` line follows), 2 bad usage or input.";

void add_run(CLI::App& app, iosim::cli::RunOptions& options) {
  CLI::App* run = app.add_subcommand("run", "Run a scenario once and check it; the last line is its trace-hash");
  run->add_option("scenario", options.scenario, "Scenario file (JSON), e.g. scenarios/echo_select.json")->required();
  run->add_option("--seed", options.seed, "Schedule seed (default: the scenario's sim.seed)")->check(seed_digits);
  run->add_option("--strategy", options.strategy, "Scheduling strategy")->check(CLI::IsMember({"random", "rr"}));
  run->add_option("--backend", options.backend, "Where to run: the simulator or the real Linux kernel")
      ->check(CLI::IsMember({"sim", "linux"}))
      ->capture_default_str();
  run->add_option("--trace-out", options.trace_out, "Write every trace event as JSON lines to this file (sim)");
  run->add_flag("--explain", options.explain, "Print a readable timeline of the run's first events (sim)");
  run->add_option("--explain-lines", options.explain_lines, "How many timeline lines --explain prints")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
}

void add_diff(CLI::App& app, iosim::cli::DiffOptions& options) {
  CLI::App* diff = app.add_subcommand("diff", "Run a scenario on the simulator and on Linux; compare what clients saw");
  diff->add_option("scenario", options.scenario, "Scenario file (JSON)")->required();
  diff->add_option("--seed", options.seed, "Schedule seed for the simulator run")->check(seed_digits);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(overview, "iosim");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  iosim::cli::RunOptions run_options;
  iosim::cli::DiffOptions diff_options;
  add_run(app, run_options);
  add_diff(app, diff_options);
  app.add_subcommand("list", "List the bundled applications and scenario files");
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::fprintf(stderr, "iosim: unknown command '%s' (commands: run, diff, list)\nRun 'iosim --help' for usage.\n",
                 argv[1]);
    return iosim::cli::exit_bad_input;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "iosim: %s\nRun 'iosim --help' for usage.\n", error.what());
    return iosim::cli::exit_bad_input;
  }
  if (app.got_subcommand("run")) return iosim::cli::run_command(run_options);
  if (app.got_subcommand("diff")) return iosim::cli::diff_command(diff_options);
  return iosim::cli::list_command();
}
