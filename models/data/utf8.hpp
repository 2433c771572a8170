// UTF-8 text one code point at a time, and which code points are spaces: shared by
// the tokenisers of models/data/parallel.hpp and models/eval/ (BLEU, chrF).
// Read next: models/data/parallel.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tapegrad::models::data {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not valid UTF-8
// (overlong two-byte forms and code points above U+10FFFF are refused).
std::size_t utf8_length(std::string_view s, std::size_t i);

// Code points of s; a byte that starts no valid sequence becomes U+FFFD.
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view s);

// The code points Python's str.isspace() accepts (so str.split() splits on them):
// \t \n \v \f \r, U+001C..U+001F, space, U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000. sacreBLEU splits with str.split().
bool is_space(char32_t c);

}  // namespace tapegrad::models::data
