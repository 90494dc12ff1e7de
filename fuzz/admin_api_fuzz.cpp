// The admin API (admin/api.h) without a transport: a few requests
// (method, target, body; the token as the first byte says) against a real
// ControlPlane with a file quota and a state_dir. Properties:
// - every answer has a status sluiced may send (200..599) and the shape its
//   status promises: 204 without a body, an error as
//   {"errors": [messages]} (each message non-empty; none only for 404),
//   405 with Allow, anything JSON parseable;
// - without a token only /v1/sys/health answers (401), a wrong one gets 403;
// - a quota read back (GET) and written back unchanged (PUT) reads the same;
//   one deleted reads 404;
// - the API's quotas are in state_dir: a restart reads the same names.
#include "admin/api.h"
#include "config/quota_json.h"

#include "support/control_plane_rig.h"
#include "support/fuzz_check.h"
#include "support/input_split.h"
#include "support/temp_dir.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sluice::fuzz::check;

constexpr std::string_view kToken = "0123456789abcdef";
constexpr std::string_view kQuotaPrefix = "/v1/sys/quotas/rate-limit/";
constexpr std::size_t kMaxRequests = 6;

// What sluiced starts the API on here: the state_dir, and one quota from
// the config file besides those the API makes.
sluice::Config config_in(const std::filesystem::path& state_dir) {
    sluice::Config config;
    config.state_dir = state_dir;
    sluice::Quota file_quota;
    file_quota.name = "file-quota";
    file_quota.path = "/file";
    file_quota.rate = 2;
    config.quotas = {file_quota};
    config.quota_sources = {"/etc/sluice/sluice.json"};
    return config;
}

struct Sluiced {
    sluice::fuzz::ControlPlaneRig rig;
    sluice::AdminApi api{rig.control, sluice::AdminAuth(std::string(kToken)),
                         [] { return std::string("sluice_up 1\n"); }, "1.2.3"};

    explicit Sluiced(const std::filesystem::path& state_dir) : rig(config_in(state_dir), 8) {}
};

sluice::TokenHeaders tokens_for(std::uint8_t mode) {
    switch (mode % 5) {
    case 0: return {.vault_token = std::string(kToken)};
    case 1: return {.sluice_token = std::string(kToken)};
    case 2: return {.authorization = "Bearer " + std::string(kToken)};
    case 3: return {.vault_token = "wrong"};
    default: return {};
    }
}

void check_shape(const sluice::AdminRequest& request, const sluice::AdminResponse& response) {
    const std::string detail = request.method + " " + request.target + "\n" + request.body + "\n-> " +
                               std::to_string(response.status) + " " + response.body;
    check(response.status >= 200 && response.status <= 599, "a status sluiced may not send", detail);
    if (response.status == 204) {
        check(response.body.empty() && response.content_type.empty(), "a 204 with a body", detail);
        return;
    }
    if (response.content_type != "application/json") return;  // /metrics
    const sluice::Json body = sluice::Json::parse(response.body, nullptr, false);
    check(!body.is_discarded(), "a JSON answer that does not parse", detail);
    if (response.status < 400) return;
    check(body.is_object() && body.size() == 1 && body.contains("errors") && body["errors"].is_array(),
          "an error answer not shaped {\"errors\": [...]}", detail);
    check(!body["errors"].empty() || response.status == 404, "an error answer without a message", detail);
    for (const sluice::Json& message : body["errors"])
        check(message.is_string() && !message.get<std::string>().empty(), "an empty error message", detail);
    if (response.status == 405) {
        check(response.headers.size() == 1 && response.headers[0].first == "Allow", "a 405 without Allow", detail);
    }
}

void check_auth(const sluice::AdminRequest& request, const sluice::AdminResponse& response) {
    if (request.target.substr(0, request.target.find('?')) == "/v1/sys/health") return;
    const sluice::TokenHeaders& t = request.tokens;
    if (t.vault_token.empty() && t.sluice_token.empty() && t.authorization.empty())
        check(response.status == 401, "a request without a token was not refused with 401", request.target);
    if (t.vault_token == "wrong")
        check(response.status == 403, "a request with a wrong token was not refused with 403", request.target);
}

sluice::AdminResponse call(Sluiced& sluiced, const sluice::AdminRequest& request) {
    const sluice::AdminResponse response = sluiced.api.handle(request);
    check_shape(request, response);
    check_auth(request, response);
    return response;
}

// The quota a successful write or delete named: read back, it is as written.
void check_stored(Sluiced& sluiced, const sluice::AdminRequest& request, const sluice::AdminResponse& response) {
    if (!request.target.starts_with(kQuotaPrefix) || response.status != 204) return;
    if (request.target.find_first_of("?#") != std::string::npos || request.target.ends_with("/usage")) return;
    const sluice::TokenHeaders owner{.vault_token = std::string(kToken)};
    const sluice::AdminResponse read = call(sluiced, {"GET", request.target, owner, ""});
    if (request.method == "DELETE") {
        check(read.status == 404, "a deleted quota still reads", request.target);
        return;
    }
    check(read.status == 200, "a written quota does not read", request.target + " -> " + read.body);
    const sluice::Json data = sluice::Json::parse(read.body)["data"];
    const sluice::AdminResponse written = call(sluiced, {"PUT", request.target, owner, data.dump()});
    check(written.status == 204, "a quota as read is refused when written back", data.dump() + "\n-> " + written.body);
    const sluice::AdminResponse again = call(sluiced, {"GET", request.target, owner, ""});
    check(again.status == 200 && sluice::Json::parse(again.body)["data"] == data,
          "a quota written back as read reads differently", data.dump() + "\n-> " + again.body);
}

sluice::AdminRequest request_from(std::string_view part, const sluice::TokenHeaders& tokens) {
    const std::size_t line_end = std::min(part.find('\n'), part.size());
    const std::string_view line = part.substr(0, line_end);
    const std::size_t space = std::min(line.find(' '), line.size());
    sluice::AdminRequest request;
    request.method = std::string(line.substr(0, space));
    request.target = std::string(line.substr(std::min(space + 1, line.size())));
    request.tokens = tokens;
    request.body = std::string(part.substr(std::min(line_end + 1, part.size())));
    return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const sluice::TokenHeaders tokens = tokens_for(data[0]);
    const std::vector<std::string_view> parts =
        sluice::fuzz::split_input(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), kMaxRequests);
    const sluice::testing::TempFolder& dir = sluice::fuzz::scratch_dir();
    dir.clear();

    std::vector<std::string> names;
    {
        Sluiced sluiced(dir.path());
        for (const std::string_view part : parts) {
            if (part.empty()) continue;
            const sluice::AdminRequest request = request_from(part, tokens);
            const sluice::AdminResponse response = call(sluiced, request);
            check_stored(sluiced, request, response);
        }
        names = sluiced.rig.control.quota_names();
    }
    const Sluiced restarted(dir.path());
    check(restarted.rig.control.quota_names() == names, "a restart reads other quotas than the API made");
    return 0;
}
