// diego-cfdot: a command-line client of the BBS API, after Diego's `cfdot`.
// Speaks the BBS protobuf API through `diego::bbs::BbsClient` (and Locket's
// gRPC API through `diego::locket::GrpcLocketClient` for `locks` and
// `presences`) and prints records as Diego's Go JSON, one per line, so its
// output reads like cfdot's.
//
//   $ diego-cfdot --bbs_url=http://127.0.0.1:8889 create-desired-lrp @lrp.json
//   $ diego-cfdot desired-lrps --domain=cf-apps
//   $ diego-cfdot actual-lrps --cell_id=cell-1
//   $ diego-cfdot lrp-events
//   $ diego-cfdot --locketAPILocation=127.0.0.1:8891 locks
//
// Exit status: 0 success; 1 the BBS or Locket refused the request or could
// not be reached (the error is printed on stderr as `<Type>: <message>`, for
// Locket `<CODE>: <message>`); 2 bad usage or unreadable input.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/base/flags.h"
#include "diego/bbs/client.h"
#include "diego/locket/grpc.h"
#include "diego/model/errors.h"
#include "diego/model/go_json.h"
#include "diego/model/validation.h"

ABSL_FLAG(std::string, bbs_url, "http://127.0.0.1:8889", "URL of the BBS API (http:// or https://).");
ABSL_FLAG(std::string, ca_file, "",
          "https / Locket TLS: CA certificate file that signed the server's certificate.");
ABSL_FLAG(std::string, cert_file, "", "https / Locket TLS: client certificate for mutual TLS.");
ABSL_FLAG(std::string, key_file, "", "https / Locket TLS: private key of --cert_file.");
ABSL_FLAG(std::string, locketAPILocation, "",
          "locks, presences: host:port of Locket (default: $LOCKET_API_LOCATION). TLS when "
          "--ca_file (and --cert_file/--key_file) are given.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Timeout of each request.");
ABSL_FLAG(std::string, domain, "", "desired-lrps, desired-lrp-scheduling-infos, actual-lrps, tasks: filter by domain.");
ABSL_FLAG(std::string, cell_id, "", "actual-lrps, tasks, lrp-events: filter by cell id.");
ABSL_FLAG(std::string, process_guid, "", "actual-lrps: filter by process guid.");
ABSL_FLAG(int, index, -1, "actual-lrps: filter by instance index (-1 = all).");
ABSL_FLAG(absl::Duration, ttl, absl::ZeroDuration(), "set-domain: freshness TTL (0 = never expires).");
ABSL_FLAG(int, max_events, 0, "lrp-events, task-events: stop after this many events (0 = until the stream ends).");

namespace {

namespace bbs = ::diego::bbs;
namespace v1 = ::diego::model::v1;

constexpr char kUsage[] =
    "A command-line client of the BBS API, after Diego's cfdot. Prints records as Go JSON,\n"
    "one per line.\n"
    "\n"
    "usage: diego-cfdot [flags] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  domains                               fresh domains\n"
    "  set-domain DOMAIN [--ttl=D]           upsert a domain\n"
    "  cells                                 cell presences\n"
    "  desired-lrps [--domain=D]             DesiredLRPs\n"
    "  desired-lrp PROCESS_GUID              one DesiredLRP\n"
    "  desired-lrp-scheduling-infos [--domain=D]\n"
    "  create-desired-lrp SPEC               desire an LRP (SPEC: JSON text or @file)\n"
    "  update-desired-lrp PROCESS_GUID SPEC  apply a DesiredLRPUpdate (JSON or @file)\n"
    "  delete-desired-lrp PROCESS_GUID       remove a DesiredLRP\n"
    "  actual-lrps [--domain --cell_id --process_guid --index]\n"
    "  retire-actual-lrp PROCESS_GUID INDEX  stop one instance (it is recreated)\n"
    "  tasks [--domain=D --cell_id=C]        Tasks\n"
    "  task TASK_GUID                        one Task\n"
    "  create-task SPEC                      desire a Task (Task JSON: task_guid, domain\n"
    "                                        and the definition fields)\n"
    "  cancel-task TASK_GUID                 cancel a Task\n"
    "  delete-task TASK_GUID                 resolve and delete a completed Task\n"
    "  lrp-events [--cell_id=C]              stream LRP instance events\n"
    "  task-events                           stream task events\n"
    "  locks --locketAPILocation=H:P         Locket locks\n"
    "  presences --locketAPILocation=H:P     Locket presences (cells)\n"
    "\n"
    "Exit status: 0 success, 1 the BBS or Locket refused or could not be reached, 2 bad usage\n"
    "or input.";

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

int Usage(absl::string_view message) {
  std::cerr << "diego-cfdot: " << message << "\n(see diego-cfdot --help)\n";
  return kExitUsage;
}

// "<Type>: <message>" for a BBS error, the status text otherwise.
int Refused(const absl::Status& status) {
  const v1::Error error = diego::model::ToBbsError(status);
  std::cerr << "diego-cfdot: " << v1::Error::Type_Name(error.type()) << ": " << error.message()
            << "\n";
  return kExitRefused;
}

// A SPEC argument: inline JSON, or @path.
absl::StatusOr<std::string> ReadSpec(absl::string_view arg) {
  if (arg.empty() || arg[0] != '@') return std::string(arg);
  const std::string path(arg.substr(1));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename T>
absl::StatusOr<T> ParseSpec(absl::string_view arg) {
  absl::StatusOr<std::string> text = ReadSpec(arg);
  if (!text.ok()) return text.status();
  return diego::model::ParseGoJson<T>(*text);
}

bool Print(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = diego::model::ToGoJson(message);
  if (!json.ok()) {
    std::cerr << "diego-cfdot: " << json.status().message() << "\n";
    return false;
  }
  std::cout << *json << "\n";
  return true;
}

template <typename T>
int PrintAll(const absl::StatusOr<std::vector<T>>& records) {
  if (!records.ok()) return Refused(records.status());
  for (const T& record : *records) {
    if (!Print(record)) return kExitRefused;
  }
  return 0;
}

template <typename T>
int PrintOne(const absl::StatusOr<T>& record) {
  if (!record.ok()) return Refused(record.status());
  return Print(*record) ? 0 : kExitRefused;
}

int Done(const absl::Status& status) { return status.ok() ? 0 : Refused(status); }

// Prints {"type":"<name>","data":<event JSON>} per event.
int Stream(absl::StatusOr<std::unique_ptr<bbs::EventSource>> source) {
  if (!source.ok()) return Refused(source.status());
  const int max_events = absl::GetFlag(FLAGS_max_events);
  for (int seen = 0; max_events == 0 || seen < max_events;) {
    absl::StatusOr<bbs::StreamEvent> event = (*source)->Next();
    if (!event.ok()) {
      if (absl::IsUnimplemented(event.status()) || absl::IsDataLoss(event.status())) {
        std::cerr << "diego-cfdot: skipping event: " << event.status().message() << "\n";
        continue;
      }
      return Refused(event.status());
    }
    absl::StatusOr<std::string> data = std::visit(
        [](const auto& message) { return diego::model::ToGoJson(message); }, event->message);
    if (!data.ok()) return Refused(data.status());
    std::cout << "{\"type\":\"" << event->type << "\",\"data\":" << *data << "}" << std::endl;
    ++seen;
  }
  return 0;
}

// `locks` / `presences`: Locket's FetchAll of that type, as Diego's cfdot.
int RunLocket(const std::string& command) {
  std::string address = absl::GetFlag(FLAGS_locketAPILocation);
  if (const char* env = std::getenv("LOCKET_API_LOCATION"); address.empty() && env != nullptr) {
    address = env;
  }
  if (address.empty()) {
    return Usage(
        "Locket API Location not set. Please specify one with the '--locketAPILocation' flag or "
        "the 'LOCKET_API_LOCATION' environment variable.");
  }
  std::optional<diego::locket::GrpcTls> tls;
  diego::locket::GrpcTls files{absl::GetFlag(FLAGS_ca_file), absl::GetFlag(FLAGS_cert_file),
                               absl::GetFlag(FLAGS_key_file), ""};
  if (!files.ca_file.empty() || !files.cert_file.empty() || !files.key_file.empty()) tls = files;
  absl::StatusOr<std::unique_ptr<diego::locket::GrpcLocketClient>> client =
      diego::locket::GrpcLocketClient::Create(address, tls);
  if (!client.ok()) return Usage(client.status().message());

  const bool locks = command == "locks";
  v1::FetchAllRequest request;
  // `type` is deprecated upstream; Diego's cfdot sends only it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  request.set_type(locks ? "lock" : "presence");
#pragma GCC diagnostic pop
  request.set_type_code(locks ? v1::LOCK : v1::PRESENCE);
  absl::StatusOr<v1::FetchAllResponse> response =
      (*client)->FetchAll(request, absl::GetFlag(FLAGS_timeout));
  if (!response.ok()) {
    std::cerr << "diego-cfdot: " << response.status().ToString() << "\n";
    return kExitRefused;
  }
  for (const v1::Resource& resource : response->resources()) {
    if (!Print(resource)) return kExitRefused;
  }
  return 0;
}

int Run(bbs::BbsClient& client, const std::vector<std::string>& args) {
  const std::string& command = args[0];
  const size_t argc = args.size() - 1;
  auto need = [&](size_t n) { return argc == n; };

  if (command == "domains" && need(0)) {
    absl::StatusOr<std::vector<std::string>> domains = client.Domains();
    if (!domains.ok()) return Refused(domains.status());
    for (const std::string& domain : *domains) std::cout << domain << "\n";
    return 0;
  }
  if (command == "set-domain" && need(1)) {
    return Done(client.UpsertDomain(args[1], absl::GetFlag(FLAGS_ttl)));
  }
  if (command == "cells" && need(0)) return PrintAll(client.Cells());

  bbs::DesiredLrpFilter desired_filter;
  desired_filter.domain = absl::GetFlag(FLAGS_domain);
  if (command == "desired-lrps" && need(0)) return PrintAll(client.DesiredLrps(desired_filter));
  if (command == "desired-lrp" && need(1)) return PrintOne(client.DesiredLrpByProcessGuid(args[1]));
  if (command == "desired-lrp-scheduling-infos" && need(0)) {
    return PrintAll(client.DesiredLrpSchedulingInfos(desired_filter));
  }
  if (command == "create-desired-lrp" && need(1)) {
    absl::StatusOr<v1::DesiredLRP> lrp = ParseSpec<v1::DesiredLRP>(args[1]);
    if (!lrp.ok()) return Usage(lrp.status().message());
    return Done(client.DesireLrp(*lrp));
  }
  if (command == "update-desired-lrp" && need(2)) {
    absl::StatusOr<v1::DesiredLRPUpdate> update = ParseSpec<v1::DesiredLRPUpdate>(args[2]);
    if (!update.ok()) return Usage(update.status().message());
    return Done(client.UpdateDesiredLrp(args[1], *update));
  }
  if (command == "delete-desired-lrp" && need(1)) return Done(client.RemoveDesiredLrp(args[1]));

  if (command == "actual-lrps" && need(0)) {
    bbs::ActualLrpFilter filter;
    filter.domain = absl::GetFlag(FLAGS_domain);
    filter.cell_id = absl::GetFlag(FLAGS_cell_id);
    filter.process_guid = absl::GetFlag(FLAGS_process_guid);
    if (const int index = absl::GetFlag(FLAGS_index); index >= 0) filter.index = index;
    return PrintAll(client.ActualLrps(filter));
  }
  if (command == "retire-actual-lrp" && need(2)) {
    v1::ActualLRPKey key;
    int32_t index = 0;
    if (!absl::SimpleAtoi(args[2], &index) || index < 0) {
      return Usage(absl::StrCat("INDEX must be a non-negative integer, got \"", args[2], "\""));
    }
    // Diego's retire request carries the full key; the domain comes from the
    // stored instance.
    bbs::ActualLrpFilter filter;
    filter.process_guid = args[1];
    filter.index = index;
    absl::StatusOr<std::vector<v1::ActualLRP>> lrps = client.ActualLrps(filter);
    if (!lrps.ok()) return Refused(lrps.status());
    if (lrps->empty()) return Refused(diego::model::ErrResourceNotFound());
    return Done(client.RetireActualLrp(lrps->front().actual_lrp_key()));
  }

  if (command == "tasks" && need(0)) {
    bbs::TaskFilter filter;
    filter.domain = absl::GetFlag(FLAGS_domain);
    filter.cell_id = absl::GetFlag(FLAGS_cell_id);
    return PrintAll(client.Tasks(filter));
  }
  if (command == "task" && need(1)) return PrintOne(client.TaskByGuid(args[1]));
  if (command == "create-task" && need(1)) {
    absl::StatusOr<v1::Task> task = ParseSpec<v1::Task>(args[1]);
    if (!task.ok()) return Usage(task.status().message());
    return Done(client.DesireTask(task->task_guid(), task->domain(), task->task_definition()));
  }
  if (command == "cancel-task" && need(1)) return Done(client.CancelTask(args[1]));
  if (command == "delete-task" && need(1)) {
    if (absl::Status resolving = client.ResolvingTask(args[1]); !resolving.ok()) {
      return Refused(resolving);
    }
    return Done(client.DeleteTask(args[1]));
  }
  if (command == "lrp-events" && need(0)) {
    return Stream(client.SubscribeToInstanceEvents(absl::GetFlag(FLAGS_cell_id)));
  }
  if (command == "task-events" && need(0)) return Stream(client.SubscribeToTaskEvents());
  return Usage(absl::StrCat("unknown command or wrong number of arguments: ", command));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> positional = diego::InitApp(argc, argv, kUsage);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) return Usage("no command given");
  if ((args[0] == "locks" || args[0] == "presences") && args.size() == 1) {
    return RunLocket(args[0]);
  }

  bbs::BbsClientOptions options;
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.ca_file = absl::GetFlag(FLAGS_ca_file);
  options.cert_file = absl::GetFlag(FLAGS_cert_file);
  options.key_file = absl::GetFlag(FLAGS_key_file);
  options.request_attempts = 1;
  absl::StatusOr<std::unique_ptr<bbs::BbsClient>> client =
      bbs::BbsClient::Create(absl::GetFlag(FLAGS_bbs_url), options);
  if (!client.ok()) return Usage(client.status().message());
  return Run(**client, args);
}
