#include "admin/auth.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

const AdminAuth auth("s3cret-token");

TEST(AdminAuth, AcceptsTheTokenInEachOfTheThreeHeaders) {
    EXPECT_EQ(auth.check({.vault_token = "s3cret-token"}), AuthResult::granted);
    EXPECT_EQ(auth.check({.sluice_token = "s3cret-token"}), AuthResult::granted);
    EXPECT_EQ(auth.check({.authorization = "Bearer s3cret-token"}), AuthResult::granted);
    EXPECT_EQ(auth.check({.authorization = "bearer   s3cret-token"}), AuthResult::granted);
}

TEST(AdminAuth, NoTokenIsMissingAndAWrongOneDenied) {
    EXPECT_EQ(auth.check({}), AuthResult::missing);
    EXPECT_EQ(auth.check({.authorization = "Basic czNjcmV0LXRva2Vu"}), AuthResult::missing);
    EXPECT_EQ(auth.check({.authorization = "Bearer "}), AuthResult::missing);
    EXPECT_EQ(auth.check({.vault_token = "s3cret-tokem"}), AuthResult::denied);
    EXPECT_EQ(auth.check({.vault_token = "s3cret-token2"}), AuthResult::denied);
    EXPECT_EQ(auth.check({.vault_token = "s3cret"}), AuthResult::denied);
    EXPECT_EQ(auth.check({.authorization = "Bearer S3CRET-TOKEN"}), AuthResult::denied);
}

TEST(AdminAuth, TheFirstHeaderPresentDecides) {
    EXPECT_EQ(auth.check({.vault_token = "wrong", .sluice_token = "s3cret-token"}), AuthResult::denied);
    EXPECT_EQ(auth.check({.sluice_token = "s3cret-token", .authorization = "Bearer wrong"}), AuthResult::granted);
}

TEST(SameToken, ComparesWholeStrings) {
    EXPECT_TRUE(same_token("abc", "abc"));
    EXPECT_FALSE(same_token("abd", "abc"));
    EXPECT_FALSE(same_token("ab", "abc"));
    EXPECT_FALSE(same_token("abcd", "abc"));
    EXPECT_FALSE(same_token("", ""));  // an empty token never grants
}

}  // namespace
}  // namespace sluice
