// The admin API (Vault-compatible, see design.md "Admin API"), free of any
// transport: one request in, one response out. The HTTP server in
// admin_server.h feeds it; tests call it directly.
#pragma once

#include "admin/auth.h"
#include "control/control_plane.h"
#include "fleet/fleet_status.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

struct AdminRequest {
    std::string method;  // as sent, "LIST" included
    std::string target;  // path and query, percent-encoded
    TokenHeaders tokens;
    std::string body;
};

struct AdminResponse {
    unsigned status = 200;
    std::string body;
    std::string content_type;                                  // empty when there is no body
    std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type
};

// {"errors":[message]} with `status`: the one shape of every error answer.
AdminResponse admin_error(unsigned status, const std::string& message);

// GET /metrics: the Prometheus text, rendered on demand.
using MetricsRenderer = std::function<std::string()>;

class AdminApi {
public:
    // `version` is sluiced's, for /v1/sys/health. `fleet` is nullptr unless
    // the store is Redis: /v1/sys/nodes then answers 404.
    AdminApi(ControlPlane& control, AdminAuth auth, MetricsRenderer metrics, std::string version,
             const FleetMonitor* fleet = nullptr);

    AdminResponse handle(const AdminRequest& request);

private:
    struct Target;

    AdminResponse route(const AdminRequest& request, const Target& target);
    AdminResponse list_quotas(const AdminRequest& request);
    AdminResponse quota(const AdminRequest& request, const std::string& name);
    AdminResponse read_quota(const std::string& name);
    AdminResponse write_quota(const std::string& name, const std::string& body);
    AdminResponse quota_usage(const std::string& name, const Target& target);
    AdminResponse settings(const AdminRequest& request);
    AdminResponse write_settings(const std::string& body);
    AdminResponse list_blocks();
    AdminResponse block(const AdminRequest& request, const std::string& client);
    AdminResponse health() const;
    AdminResponse nodes() const;

    ControlPlane& control_;
    AdminAuth auth_;
    MetricsRenderer metrics_;
    std::string version_;
    const FleetMonitor* fleet_;
};

}  // namespace sluice
