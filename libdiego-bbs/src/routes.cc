// Copyright 2026 The libdiego Authors.

#include "diego/bbs/routes.h"

namespace diego::bbs {

const BbsRoute* FindBbsRoute(absl::string_view name) {
  for (const BbsRoute& route : kBbsRoutes) {
    if (route.name == name) return &route;
  }
  return nullptr;
}

}  // namespace diego::bbs
