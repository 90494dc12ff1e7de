#include "proxy/upstream_response.h"

namespace sluice {
namespace {

void give_back_if_large(std::string& text) {
    if (text.capacity() > kUpstreamKeptBytes) std::string().swap(text);
}

}  // namespace

std::string_view UpstreamResponse::value(boost::beast::http::field name) const {
    for (const Field& f : fields)
        if (f.name == name) return value(f);
    return {};
}

void UpstreamResponse::clear() {
    status = 0;
    reason.clear();
    fields.clear();
    text.clear();
    body.clear();
    give_back_if_large(text);
    give_back_if_large(body);
}

}  // namespace sluice
