#include "metrics/metrics.h"

#include "control/control_plane.h"
#include "fleet/fleet_status.h"
#include "metrics/families.h"
#include "metrics/prometheus_text.h"
#include "proxy/proxy_server.h"

namespace sluice {

std::string render_metrics(const MetricsSources& sources) {
    PrometheusText out;
    write_build_metrics(out, sources.version);
    write_quota_metrics(out, *sources.limiter.policy());
    write_proxy_metrics(out, sources.proxy.stats());
    write_connection_metrics(out, sources.proxy.connections());
    write_store_metrics(out, sources.store);
    if (sources.redis) write_redis_metrics(out, *sources.redis);
    if (sources.fleet) write_fleet_metrics(out, sources.fleet->status(), sources.fleet->nodes().size());
    write_block_metrics(out, sources.blocks);
    write_control_plane_metrics(out, sources.control.counters());
    if (sources.xdp) write_xdp_metrics(out, sources.xdp->interface_counters());
    return out.text();
}

}  // namespace sluice
