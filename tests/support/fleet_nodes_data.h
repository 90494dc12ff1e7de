// The data of a GET /v1/sys/nodes answer for a fleet of two hosts: the admin
// API's test checks that it writes exactly this, sluicectl's renders it, so
// that both read the same shape.
#pragma once

namespace sluice::testing {

inline constexpr const char* kTwoNodesData =
    R"({"sync":{"state":"lagging","lag":3,"since":"2026-12-05T21:49:25Z","applied_seq":41,"pending":2},)"
    R"("nodes":[{"name":"edge-1","version":"0.1.0","addresses":["0.0.0.0:8080","[::]:8080"],)"
    R"("quotas":["api-keys","per-ip"],"file_quotas":{"per-ip":"/etc/sluice/sluice.json"},)"
    R"("xdp":[{"interface":"eth0","mode":"native"},{"interface":"eth1","mode":"generic"}],)"
    R"("sync":"lagging","lag":3,"seen":"2026-12-05T21:49:29Z"},)"
    R"({"name":"edge-2","version":"0.2.0","addresses":["10.0.0.2:80"],"quotas":[],"file_quotas":{},)"
    R"("xdp":[],"sync":"in_sync","lag":0,"seen":"2026-12-05T21:49:28Z"}]})";

}  // namespace sluice::testing
