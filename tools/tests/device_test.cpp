// SPDX-License-Identifier: MIT
//
// The query protocol of simgpu::Device, against a fake driver.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "simgpu/device.hpp"

namespace {

using simgpu::Device;
using simgpu::Fd;

template <typename T>
std::vector<std::byte> bytes_of(const T& value)
{
    std::vector<std::byte> bytes(sizeof(value));
    std::memcpy(bytes.data(), &value, sizeof(value));
    return bytes;
}

std::vector<std::byte> engines_answer(uint32_t compute, uint32_t copy)
{
    std::vector<drm_simgpu_engine_info> engines;
    for (uint16_t i = 0; i < compute; ++i)
        engines.push_back({DRM_SIMGPU_ENGINE_CLASS_COMPUTE, i, 0, 0});
    for (uint16_t i = 0; i < copy; ++i)
        engines.push_back({DRM_SIMGPU_ENGINE_CLASS_COPY, i, 0, 0});

    drm_simgpu_query_engines header{};
    header.num_engines = static_cast<uint32_t>(engines.size());
    auto bytes = bytes_of(header);
    for (const auto& e : engines) {
        const auto b = bytes_of(e);
        bytes.insert(bytes.end(), b.begin(), b.end());
    }
    return bytes;
}

// Follows the rules of simgpu_drm.h for DRM_IOCTL_SIMGPU_QUERY.
class FakeDriver : public simgpu::IoctlBackend {
public:
    std::map<uint32_t, std::vector<std::byte>> answers;
    std::vector<drm_simgpu_query> calls;    // as received
    std::function<int(FakeDriver&)> before; // runs first; non-zero is returned

    int ioctl(int, unsigned long request, void* arg) override
    {
        if (request != DRM_IOCTL_SIMGPU_QUERY)
            return -ENOTTY;
        auto* q = static_cast<drm_simgpu_query*>(arg);
        calls.push_back(*q);
        if (before) {
            if (int ret = before(*this))
                return ret;
        }
        if (q->extensions || q->flags || q->pad || q->reserved[0] || q->reserved[1])
            return -EINVAL;
        const auto it = answers.find(q->query);
        if (it == answers.end())
            return -EINVAL;
        const auto& answer = it->second;
        if (q->size != 0) {
            if (q->size < answer.size())
                return -EINVAL;
            std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(q->data)), answer.data(),
                        answer.size());
        }
        q->size = static_cast<uint32_t>(answer.size());
        return 0;
    }
};

class DeviceQuery : public ::testing::Test {
protected:
    DeviceQuery()
    {
        drm_simgpu_query_device info{};
        info.device_id = 1;
        info.num_engines = 3;
        info.vram_size = 256ULL << 20;
        info.caps = DRM_SIMGPU_CAP_FAULT_MODE;
        info.va_bits = 48;
        driver->answers[DRM_SIMGPU_QUERY_DEVICE] = bytes_of(info);
        driver->answers[DRM_SIMGPU_QUERY_ENGINES] = engines_answer(2, 1);
    }

    std::shared_ptr<FakeDriver> driver = std::make_shared<FakeDriver>();
    Device device{Fd(), "fake", driver};
};

TEST_F(DeviceQuery, DeviceUsesTwoCalls)
{
    const auto info = device.query_device();
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info.value().device_id, 1u);
    EXPECT_EQ(info.value().num_engines, 3u);
    EXPECT_EQ(info.value().vram_size, 256ULL << 20);
    EXPECT_EQ(info.value().caps, DRM_SIMGPU_CAP_FAULT_MODE);
    EXPECT_EQ(info.value().va_bits, 48u);

    ASSERT_EQ(driver->calls.size(), 2u);
    EXPECT_EQ(driver->calls[0].query, uint32_t{DRM_SIMGPU_QUERY_DEVICE});
    EXPECT_EQ(driver->calls[0].size, 0u);
    EXPECT_EQ(driver->calls[1].size, sizeof(drm_simgpu_query_device));
    EXPECT_NE(driver->calls[1].data, 0u);
}

TEST_F(DeviceQuery, Engines)
{
    const auto engines = device.query_engines();
    ASSERT_TRUE(engines.ok()) << engines.error().message();
    ASSERT_EQ(engines.value().size(), 3u);
    EXPECT_EQ(engines.value()[0].engine_class, DRM_SIMGPU_ENGINE_CLASS_COMPUTE);
    EXPECT_EQ(engines.value()[1].instance, 1u);
    EXPECT_EQ(engines.value()[2].engine_class, DRM_SIMGPU_ENGINE_CLASS_COPY);
    EXPECT_EQ(engines.value()[2].instance, 0u);
    EXPECT_EQ(driver->calls.size(), 2u);
}

TEST_F(DeviceQuery, UnknownQueryPropagatesEinval)
{
    const auto answer = device.query(2);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().err, EINVAL);
    EXPECT_NE(answer.error().what.find("DRM_IOCTL_SIMGPU_QUERY"), std::string::npos);
    EXPECT_EQ(driver->calls.size(), 1u);
}

TEST_F(DeviceQuery, GrowingAnswerIsRetried)
{
    driver->before = [](FakeDriver& d) {
        if (d.calls.size() == 2) // an engine appears between the size and the data call
            d.answers[DRM_SIMGPU_QUERY_ENGINES] = engines_answer(2, 2);
        return 0;
    };
    const auto engines = device.query_engines();
    ASSERT_TRUE(engines.ok()) << engines.error().message();
    EXPECT_EQ(engines.value().size(), 4u);
    ASSERT_EQ(driver->calls.size(), 4u);
    EXPECT_EQ(driver->calls[2].size, 0u);
    EXPECT_EQ(driver->calls[3].size, engines_answer(2, 2).size());
}

TEST_F(DeviceQuery, ShrinkingAnswerIsTrimmed)
{
    driver->before = [](FakeDriver& d) {
        if (d.calls.size() == 2)
            d.answers[DRM_SIMGPU_QUERY_ENGINES] = engines_answer(1, 1);
        return 0;
    };
    const auto engines = device.query_engines();
    ASSERT_TRUE(engines.ok()) << engines.error().message();
    EXPECT_EQ(engines.value().size(), 2u);
}

TEST_F(DeviceQuery, EinvalWithoutGrowthIsReturned)
{
    driver->before = [](FakeDriver& d) { return d.calls.back().size != 0 ? -EINVAL : 0; };
    const auto answer = device.query(DRM_SIMGPU_QUERY_DEVICE);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().err, EINVAL);
    EXPECT_EQ(driver->calls.size(), 3u); // size, data, size again: unchanged
}

TEST_F(DeviceQuery, EndlessGrowthGivesUp)
{
    driver->before = [](FakeDriver& d) {
        auto& answer = d.answers[DRM_SIMGPU_QUERY_ENGINES];
        if (d.calls.back().size != 0) // an engine appears before every data call
            answer.resize(answer.size() + sizeof(drm_simgpu_engine_info));
        return 0;
    };
    const auto answer = device.query(DRM_SIMGPU_QUERY_ENGINES);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().err, EAGAIN);
    EXPECT_EQ(driver->calls.size(), 16u);
}

TEST_F(DeviceQuery, OtherErrorsAreNotRetried)
{
    driver->before = [](FakeDriver& d) { return d.calls.back().size != 0 ? -EFAULT : 0; };
    const auto info = device.query_device();
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().err, EFAULT);
    EXPECT_EQ(driver->calls.size(), 2u);
    EXPECT_THROW((void)info.value(), simgpu::Exception);
}

TEST_F(DeviceQuery, InterruptedIoctlIsRestarted)
{
    driver->before = [](FakeDriver& d) {
        switch (d.calls.size()) {
        case 1:
            return -EINTR;
        case 2:
            return -EAGAIN;
        default:
            return 0;
        }
    };
    const auto info = device.query_device();
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(driver->calls.size(), 4u);
}

TEST_F(DeviceQuery, ShortDeviceAnswerIsAProtocolError)
{
    driver->answers[DRM_SIMGPU_QUERY_DEVICE].resize(8);
    const auto info = device.query_device();
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().err, EPROTO);
}

TEST_F(DeviceQuery, TruncatedEngineListIsAProtocolError)
{
    auto& answer = driver->answers[DRM_SIMGPU_QUERY_ENGINES];
    answer.resize(answer.size() - sizeof(drm_simgpu_engine_info));
    const auto engines = device.query_engines();
    ASSERT_FALSE(engines.ok());
    EXPECT_EQ(engines.error().err, EPROTO);
}

TEST(DeviceOpen, MissingNodeFails)
{
    const auto device = Device::open("/nonexistent/renderD200");
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.error().err, ENOENT);
}

TEST(DeviceOpen, NonDrmFileIsNotASimgpuDevice)
{
    const auto device = Device::open("/dev/null");
    ASSERT_FALSE(device.ok());
    EXPECT_NE(device.error().err, 0);
}

TEST(DeviceEnumerate, RenderNodesAreSorted)
{
    const auto nodes = Device::render_nodes();
    EXPECT_TRUE(std::is_sorted(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) {
        return a.size() < b.size() || (a.size() == b.size() && a < b);
    }));
    for (const auto& node : nodes)
        EXPECT_EQ(node.rfind("/dev/dri/renderD", 0), 0u) << node;
}

} // namespace
