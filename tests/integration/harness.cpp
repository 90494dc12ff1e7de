#include "harness.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <system_error>

namespace sluice::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::chrono::seconds kStartTimeout{10};
constexpr std::chrono::seconds kStopTimeout{10};

std::unique_ptr<ChildProcess> start_listening(const std::string& program, const std::vector<std::string>& args,
                                              const std::string& ready_line) {
    auto child = std::make_unique<ChildProcess>(program, args);
    if (!child->wait_for_stderr(ready_line, kStartTimeout)) {
        throw std::runtime_error(program + " did not start: " + child->stderr_text());
    }
    return child;
}

}  // namespace

std::uint16_t free_port() {
    // The kernel may hand out a port again once its socket is closed, before
    // the test had it taken: never the same port twice in one test process.
    static std::mutex mutex;
    static std::set<std::uint16_t> handed_out;
    const std::lock_guard lock(mutex);
    for (;;) {
        net::io_context ioc;
        tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        const std::uint16_t port = acceptor.local_endpoint().port();
        if (handed_out.insert(port).second) return port;
    }
}

nlohmann::json example_config(const std::string& name) {
    std::ifstream in(std::filesystem::path(SLUICE_SOURCE_DIR) / "configs" / "examples" / name);
    if (!in) throw std::runtime_error("cannot read example config " + name);
    return nlohmann::json::parse(in);
}

std::unique_ptr<ChildProcess> start_demo_upstream(std::uint16_t port) {
    return start_listening(DEMO_UPSTREAM_BINARY, {"--listen", "127.0.0.1:" + std::to_string(port)},
                           "demo_upstream: listening on");
}

Deployment::Deployment(nlohmann::json config, Upstream upstream, const std::vector<std::string>& launcher)
    : port_(free_port()),
      upstream_port_(free_port()) {
    if (upstream == Upstream::running) restart_upstream();
    start_sluiced(std::move(config), launcher);
}

Deployment::Deployment(nlohmann::json config, std::uint16_t shared_upstream_port)
    : port_(free_port()),
      upstream_port_(shared_upstream_port) {
    start_sluiced(std::move(config), {});
}

void Deployment::start_sluiced(nlohmann::json config, const std::vector<std::string>& launcher) {
    const auto file = write_config(std::move(config));
    std::vector<std::string> command = launcher;
    for (const std::string& arg : {std::string(SLUICED_BINARY), std::string("--config"), file.string()})
        command.push_back(arg);
    sluiced_ = start_listening(command.front(), {command.begin() + 1, command.end()}, "sluiced: listening on");
}

std::filesystem::path Deployment::write_config(nlohmann::json config) const {
    config["listen"] = {"127.0.0.1:" + std::to_string(port_)};
    config["upstream"] = "http://127.0.0.1:" + std::to_string(upstream_port_);
    return dir_.write("sluiced.json", config.dump(2));
}

void Deployment::write_config_text(const std::string& text) const { dir_.write("sluiced.json", text); }

void Deployment::restart_upstream() {
    if (upstream_ && upstream_->terminate(kStopTimeout) != 0) {
        throw std::runtime_error("demo_upstream did not stop cleanly: " + upstream_->stderr_text());
    }
    upstream_ = start_demo_upstream(upstream_port_);
}

int Deployment::stop_sluiced() { return sluiced_->terminate(kStopTimeout); }

}  // namespace sluice::test
