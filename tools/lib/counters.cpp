// SPDX-License-Identifier: MIT
#include "simgpu/counters.hpp"
#include "simgpu/format.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

namespace simgpu {
namespace {

namespace fs = std::filesystem;

// Number of a minor's directory name, or -1.
int minor_number(const std::string& name)
{
    int minor = -1;
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(name.data(), last, minor);
    return ec == std::errc() && end == last && !name.empty() ? minor : -1;
}


template <typename T>
std::optional<T> parse_number(std::string_view s)
{
    T v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

// @s without the octal escapes (backslash and three digits) of the
// kernel's seq_escape(); nullopt for a malformed escape.
std::optional<std::string> unescape_octal(std::string_view s)
{
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (i + 3 >= s.size())
            return std::nullopt;
        unsigned v = 0;
        for (size_t j = i + 1; j <= i + 3; ++j) {
            if (s[j] < '0' || s[j] > '7')
                return std::nullopt;
            v = v * 8 + static_cast<unsigned>(s[j] - '0');
        }
        if (v > 0xff)
            return std::nullopt;
        out += static_cast<char>(v);
        i += 3;
    }
    return out;
}

// The non-blank lines of a debugfs text, with their numbers and words.
class LineReader {
public:
    explicit LineReader(std::string_view text) : text_(text) {}

    // Moves to the next line with words; false at the end.
    bool next()
    {
        while (!text_.empty()) {
            const size_t nl = text_.find('\n');
            line_ = text_.substr(0, nl);
            text_ = nl == std::string_view::npos ? std::string_view{} : text_.substr(nl + 1);
            ++line_no_;
            words_ = split_words(line_);
            if (!words_.empty())
                return true;
        }
        return false;
    }

    std::string_view line() const { return line_; }
    const std::vector<std::string_view>& words() const { return words_; }
    // EINVAL naming the current line and @why.
    Error bad(const char* why) const
    {
        return Error{EINVAL,
                     "line " + std::to_string(line_no_) + " '" + std::string(line_) + "': " + why};
    }

private:
    std::string_view text_;
    std::string_view line_;
    std::vector<std::string_view> words_;
    unsigned line_no_ = 0;
};

// The whole of file @path; ENOENT as an error with err == ENOENT.
Result<std::string> read_file(const fs::path& path)
{
    errno = 0;
    std::ifstream in(path);
    if (!in)
        return Error{errno ? errno : EIO, "opening " + path.string()};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return Error{EIO, "reading " + path.string()};
    return text.str();
}

} // namespace

std::optional<uint64_t> find_counter(const Counters& counters, std::string_view name)
{
    for (const Counter& c : counters)
        if (c.name == name)
            return c.value;
    return std::nullopt;
}

Result<Counters> parse_counters(std::string_view text, std::string_view prefix)
{
    Counters counters;
    LineReader lines(text);
    while (lines.next()) {
        const auto& words = lines.words();
        const auto bad = [&](const char* why) { return lines.bad(why); };
        // "name value", or "object key value ...": an odd count of words.
        const bool pair = words.size() == 2;
        if (!pair && (words.size() < 3 || words.size() % 2 == 0))
            return bad("expected 'name value' or 'object key value ...'");
        for (size_t i = pair ? 0 : 1; i < words.size(); i += 2) {
            const auto value = parse_number<uint64_t>(words[i + 1]);
            if (!value)
                return bad("value is not an unsigned number");
            std::string name(prefix);
            if (!pair) {
                name += words[0];
                name += '.';
            }
            name += words[i];
            counters.push_back({std::move(name), *value});
        }
    }
    return counters;
}

Result<std::vector<fs::path>> counter_dirs(const fs::path& dri)
{
    std::vector<std::pair<int, fs::path>> found;
    std::error_code ec;
    for (fs::directory_iterator it(dri, ec), end; !ec && it != end; it.increment(ec)) {
        const int minor = minor_number(it->path().filename().string());
        std::error_code exists_ec;
        if (minor < 0 || !fs::exists(it->path() / "simgpu_stats", exists_ec))
            continue;
        std::ifstream name(it->path() / "name");
        std::string driver;
        if (name >> driver && driver == "simgpu")
            found.emplace_back(minor, it->path());
    }
    if (ec)
        return Error{ec.value(), "reading " + dri.string()};

    std::sort(found.begin(), found.end());
    std::vector<fs::path> dirs;
    for (auto& entry : found)
        dirs.push_back(std::move(entry.second));
    return dirs;
}

Result<Counters> read_counter_file(const fs::path& dir, std::string_view file)
{
    const fs::path path = dir / file;
    auto text = read_file(path);
    if (!text.ok())
        return text.error();
    auto counters = parse_counters(text.value(), file == "simgpu_vram" ? "vram_" : "");
    if (!counters.ok())
        return Error{counters.error().err, path.string() + ": " + counters.error().what};
    return counters;
}

Result<Counters> read_device_counters(const fs::path& dir)
{
    Counters all;
    for (const std::string_view file : counter_files) {
        auto counters = read_counter_file(dir, file);
        if (!counters.ok()) {
            if (counters.error().err == ENOENT && file != counter_files[0])
                continue;
            return counters.error();
        }
        for (Counter& c : counters.value())
            all.push_back(std::move(c));
    }
    return all;
}

Result<std::vector<VmInfo>> parse_vms(std::string_view text)
{
    std::vector<VmInfo> vms;
    LineReader lines(text);
    while (lines.next()) {
        const auto& words = lines.words();
        const std::string_view line = lines.line();
        const auto bad = [&](const char* why) { return lines.bad(why); };
        if (line.front() != ' ' && line.front() != '\t') {
            // "vm <client>/<id>"
            const size_t slash = words.size() == 2 ? words[1].find('/') : std::string_view::npos;
            if (words[0] != "vm" || slash == std::string_view::npos)
                return bad("expected 'vm <client>/<id>'");
            const auto client = parse_number<uint32_t>(words[1].substr(0, slash));
            const auto id = parse_number<uint32_t>(words[1].substr(slash + 1));
            if (!client || !id)
                return bad("client and id are not unsigned numbers");
            vms.push_back(VmInfo{*client, *id, {}, {}});
            continue;
        }
        if (vms.empty())
            return bad("a value before the first 'vm' line");
        if (words[0] == "comm") {
            const std::optional<std::string> comm =
                words.size() == 1 ? std::string() : unescape_octal(words[1]);
            if (words.size() > 2 || !comm)
                return bad("comm is not one escaped word");
            vms.back().comm = *comm;
            continue;
        }
        if (words.size() != 2)
            return bad("expected '  name value'");
        const auto value = parse_number<uint64_t>(words[1]);
        if (!value)
            return bad("value is not an unsigned number");
        vms.back().values.push_back({std::string(words[0]), *value});
    }
    return vms;
}

Result<std::vector<VmInfo>> read_vms(const fs::path& dir)
{
    const fs::path path = dir / vms_file;
    auto text = read_file(path);
    if (!text.ok())
        return text.error();
    auto vms = parse_vms(text.value());
    if (!vms.ok())
        return Error{vms.error().err, path.string() + ": " + vms.error().what};
    return vms;
}

} // namespace simgpu
