#include "diego/model/models.h"

#include <vector>

namespace diego::model {

std::vector<const google::protobuf::FileDescriptor*> ModelProtoFiles() {
  // One message per generated file.
  return {
      v1::Action::descriptor()->file(),
      v1::ActualLRP::descriptor()->file(),
      v1::ActualLRPLifecycleResponse::descriptor()->file(),
      v1::CachedDependency::descriptor()->file(),
      v1::CellPresence::descriptor()->file(),
      v1::CertificateProperties::descriptor()->file(),
      v1::CheckDefinition::descriptor()->file(),
      v1::DesiredLRP::descriptor()->file(),
      v1::DesiredLRPLifecycleResponse::descriptor()->file(),
      v1::DomainsResponse::descriptor()->file(),
      v1::EnvironmentVariable::descriptor()->file(),
      v1::Error::descriptor()->file(),
      v1::EvacuationResponse::descriptor()->file(),
      v1::ActualLRPCreatedEvent::descriptor()->file(),
      v1::File::descriptor()->file(),
      v1::ImageLayer::descriptor()->file(),
      v1::Resource::descriptor()->file(),  // Locket
      v1::LogRateLimit::descriptor()->file(),
      v1::MetricTagValue::descriptor()->file(),
      v1::ModificationTag::descriptor()->file(),
      v1::Network::descriptor()->file(),
      v1::PingResponse::descriptor()->file(),
      v1::SecurityGroupRule::descriptor()->file(),
      v1::Sidecar::descriptor()->file(),
      v1::Task::descriptor()->file(),
      v1::TaskLifecycleResponse::descriptor()->file(),
      v1::VolumeMount::descriptor()->file(),
  };
}

}  // namespace diego::model
