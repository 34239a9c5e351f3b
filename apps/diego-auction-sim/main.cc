// diego-auction-sim: Diego's auction simulation (cloudfoundry/auction
// simulation/) on libdiego's scheduler, in memory. Three subcommands:
//
//   $ diego-auction-sim scenarios [--strategy=NAME] [--svg_dir=DIR]
//   $ diego-auction-sim place --input=FILE [--strategy=NAME]
//   $ diego-auction-sim bench --cells=N --zones=Z --instances=M [--svg=FILE]
//
// Exit status: 0 success, 1 a scenario failed its tolerance, 2 bad usage,
// bad input or an I/O error.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "diego/auction/simulation.h"
#include "diego/auction/strategies.h"
#include "diego/base/clock.h"
#include "diego/base/flags.h"
#include "diego/base/fmt.h"
#include "fmt/core.h"

ABSL_FLAG(std::string, strategy, "diego",
          "Placement strategy: diego (Diego's rule, the default), best-fit or power-of-two.");
ABSL_FLAG(std::string, svg_dir, "",
          "scenarios: also write one SVG of the per-cell distribution per scenario into this "
          "directory (created if missing).");
ABSL_FLAG(std::string, input, "", "place: the JSON placement problem to read ('-' for stdin).");
ABSL_FLAG(int, cells, 100,
          "bench: number of simulated cells (100 MB, 100 MB disk, 100 containers).");
ABSL_FLAG(int, zones, 2, "bench: number of zones the cells are spread over (round robin).");
ABSL_FLAG(int, instances, 2050,
          "bench: LRP instances to place, in Diego's large cold start mix (1/2/4 MB).");
ABSL_FLAG(uint64_t, seed, 1, "bench: seed of the workload generator.");
ABSL_FLAG(std::string, svg, "", "bench: also write the per-cell distribution as SVG to this file.");

namespace {

constexpr char kUsage[] =
    "Simulates Diego's auction in memory (cloudfoundry/auction simulation/).\n"
    "\n"
    "usage:\n"
    "  diego-auction-sim scenarios [--strategy=NAME] [--svg_dir=DIR]\n"
    "      Runs every experiment of Diego's simulation suite (small and large cold starts,\n"
    "      first-fit bin packing, imbalanced deploy, AZ distribution, the Watters demo,\n"
    "      low-memory packing) on simulated cells (100 MB memory, 100 MB disk, 100\n"
    "      containers, 2 zones) and prints one row per scenario: placed, failed,\n"
    "      distribution score (stddev/mean of memory per cell, before -> after), new\n"
    "      instances per zone, time, and PASS/FAIL against Diego's tolerance. Exits 1 if\n"
    "      any scenario fails.\n"
    "\n"
    "  diego-auction-sim place --input=FILE [--strategy=NAME]\n"
    "      Schedules one batch and prints where each LRP instance and task goes. FILE is\n"
    "      {\"cells\":[CellState...], \"lrps\":[LRPStartRequest...],\n"
    "       \"tasks\":[TaskStartRequest...], \"config\":{\"starting_container_weight\":0.25,\n"
    "       \"bin_pack_first_fit_weight\":0, \"max_inflight\":0}}\n"
    "      in the rep's /state and the auctioneer's /v1/lrps, /v1/tasks JSON shapes. Prints\n"
    "      {\"lrps\":[{\"process_guid\",\"index\",\"cell_id\"|\"error\"}],\n"
    "       \"tasks\":[{\"task_guid\",\"cell_id\"|\"error\"}]} in input order. Bad input exits 2\n"
    "      naming the file and the JSON path at fault.\n"
    "\n"
    "  diego-auction-sim bench --cells=N --zones=Z --instances=M [--seed=S] [--svg=FILE]\n"
    "      Places M instances of Diego's large cold start mix on N empty simulated cells\n"
    "      and prints the time taken and the distribution score.\n"
    "\n"
    "Strategies: diego (default), best-fit, power-of-two.\n"
    "Exit status: 0 ok, 1 a scenario failed its tolerance, 2 usage, input or I/O error.";

constexpr char kProgram[] = "diego-auction-sim";

int Fail(const absl::Status& status) {
  fmt::print(stderr, "{}: {}\n", kProgram, status.message());
  return 2;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::ostringstream contents;
  if (path == "-") {
    contents << std::cin.rdbuf();
    return contents.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open input '", path, "'"));
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read input '", path, "'"));
  return contents.str();
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

// Fails early, with the list of names, on an unknown --strategy.
absl::Status CheckStrategy(const std::string& name) {
  return diego::auction::NewPlacementStrategy(name).status();
}

int RunScenarios() {
  const std::string strategy = absl::GetFlag(FLAGS_strategy);
  if (absl::Status s = CheckStrategy(strategy); !s.ok()) return Fail(s);
  const std::string svg_dir = absl::GetFlag(FLAGS_svg_dir);
  if (!svg_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(svg_dir, error);
    if (error) {
      return Fail(absl::UnavailableError(
          absl::StrCat("cannot create --svg_dir '", svg_dir, "': ", error.message())));
    }
  }
  absl::StatusOr<std::vector<diego::auction::ScenarioResult>> results =
      diego::auction::RunScenarios(strategy, diego::Clock::Real());
  if (!results.ok()) return Fail(results.status());
  fmt::print("{}", diego::auction::FormatScenarioTable(*results));
  if (!svg_dir.empty()) {
    for (const diego::auction::ScenarioResult& r : *results) {
      const std::string path = (std::filesystem::path(svg_dir) /
                                absl::StrCat(absl::StrReplaceAll(r.name, {{"/", "__"}}), ".svg"))
                                   .string();
      const std::string title =
          absl::StrCat(r.name, " (", r.strategy, "): ", r.tolerance.passed ? "PASS" : "FAIL");
      if (absl::Status s = WriteFile(path, diego::auction::RenderDistributionSvg(r.report, title));
          !s.ok()) {
        return Fail(s);
      }
    }
    fmt::print("wrote {} SVG files to {}\n", results->size(), svg_dir);
  }
  for (const diego::auction::ScenarioResult& r : *results) {
    if (!r.tolerance.passed) return 1;
  }
  return 0;
}

int RunPlace() {
  const std::string path = absl::GetFlag(FLAGS_input);
  if (path.empty()) return Fail(absl::InvalidArgumentError("place needs --input=FILE"));
  const std::string strategy = absl::GetFlag(FLAGS_strategy);
  if (absl::Status s = CheckStrategy(strategy); !s.ok()) return Fail(s);
  absl::StatusOr<std::string> text = ReadInput(path);
  if (!text.ok()) return Fail(text.status());
  absl::StatusOr<diego::auction::PlacementInput> input = diego::auction::ParsePlacementInput(*text);
  if (!input.ok()) {
    return Fail(
        absl::InvalidArgumentError(absl::StrCat("input '", path, "': ", input.status().message())));
  }
  absl::StatusOr<diego::auction::PlacementOutput> output = diego::auction::Place(*input, strategy);
  if (!output.ok()) return Fail(output.status());
  fmt::print("{}\n", diego::auction::PlacementOutputToJson(*output));
  return 0;
}

int RunBench() {
  const int cells = absl::GetFlag(FLAGS_cells);
  const int zones = absl::GetFlag(FLAGS_zones);
  const int instances = absl::GetFlag(FLAGS_instances);
  if (cells < 1 || zones < 1 || instances < 0) {
    return Fail(
        absl::InvalidArgumentError("bench needs --cells >= 1, --zones >= 1 and --instances >= 0"));
  }
  diego::auction::SimulationOptions options;
  options.strategy = absl::GetFlag(FLAGS_strategy);
  options.clock = diego::Clock::Real();
  if (absl::Status s = CheckStrategy(options.strategy); !s.ok()) return Fail(s);

  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  diego::auction::WorkloadGenerator workload(rng);
  std::vector<diego::auction::CellState> cluster =
      diego::auction::NewSimulatedCluster({.num_cells = cells, .num_zones = zones});
  absl::StatusOr<diego::auction::SimulationRun> run = diego::auction::RunSimulation(
      std::move(cluster), workload.LargeColdStartMix(instances), {}, options);
  if (!run.ok()) return Fail(run.status());
  const diego::auction::SimulationReport report = diego::auction::BuildReport(*run);

  std::vector<std::string> per_zone;
  for (const auto& [zone, count] : report.new_instances_by_zone) {
    per_zone.push_back(absl::StrCat(zone, "=", count));
  }
  fmt::print("strategy {}: {} auctions on {} cells in {} zones: {} placed, {} failed\n",
             options.strategy, report.num_auctions, cells, zones, report.placed, report.failed);
  fmt::print("time: {:.3f}ms ({:.0f} auctions/s)\n", absl::ToDoubleMilliseconds(report.duration),
             report.AuctionsPerSecond());
  fmt::print("distribution score: {:.3f} -> {:.3f}\n", report.initial_distribution_score,
             report.distribution_score);
  fmt::print("new instances per zone: {}\n", absl::StrJoin(per_zone, " "));

  const std::string svg = absl::GetFlag(FLAGS_svg);
  if (!svg.empty()) {
    const std::string title = absl::StrCat("bench: ", instances, " instances on ", cells,
                                           " cells in ", zones, " zones (", options.strategy, ")");
    if (absl::Status s = WriteFile(svg, diego::auction::RenderDistributionSvg(report, title));
        !s.ok()) {
      return Fail(s);
    }
    fmt::print("wrote {}\n", svg);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = diego::InitApp(argc, argv, kUsage);
  if (args.size() != 2) {
    return Fail(absl::InvalidArgumentError(
        "want exactly one subcommand: scenarios, place or bench (see --help)"));
  }
  const std::string command = args[1];
  if (command == "scenarios") return RunScenarios();
  if (command == "place") return RunPlace();
  if (command == "bench") return RunBench();
  return Fail(absl::InvalidArgumentError(absl::StrCat(
      "unknown subcommand '", command, "': want scenarios, place or bench (see --help)")));
}
