using System.Text;
using Centaur.Slack.Inbound;

namespace Centaur.Tests.Slack;

/// <summary>Slack's documented worked example and the extra vectors of the Slack reference (§2.2).</summary>
public sealed class SlackSignatureTests
{
    private const string Secret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string Timestamp = "1531420618";
    private const string DocBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    private const string DocSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    private static readonly DateTimeOffset s_at = DateTimeOffset.FromUnixTimeSeconds(1531420618);

    public static TheoryData<string, string, string> Vectors => new()
    {
        { Secret, DocBody, DocSignature },
        { Secret, DocBody + "x", "v0=7191600f6de27f7e85a4119c518b9d546d936951a0725a31067656db3bce8f40" },
        { "wrong", DocBody, "v0=37db596b6588eca52a40d7f633ae5f1a1b40742c38edd183ef2bc77835bd6bfa" },
        { Secret, """{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}""", "v0=f9bd80929259f3f6d5fe3a3186c453c89cd1ad4862815a15837584f31c993652" },
        { Secret, """{"type":"event_callback","event":{"type":"app_mention","text":"<@U0LAN0Z89> héllo ✓"}}""", "v0=f201ee091bd23b935347a4348737227ecedb1692f16ccda7cef6503ebba69d85" },
        { Secret, "", "v0=55f41ec73231010289b54e669149ea021fccab11b5524355523533ce930cb739" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void ComputesTheReferenceVectors(string secret, string body, string signature) =>
        Assert.Equal(signature, SlackSignature.Compute(secret, Timestamp, Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void SlacksWorkedExampleIsValid() =>
        Assert.Equal(SignatureResult.Valid, SlackSignature.Verify(Secret, Timestamp, DocSignature, Encoding.UTF8.GetBytes(DocBody), s_at));

    [Fact]
    public void WrongSecretIsInvalid() =>
        Assert.Equal(SignatureResult.Invalid, SlackSignature.Verify("wrong", Timestamp, DocSignature, Encoding.UTF8.GetBytes(DocBody), s_at));

    [Fact]
    public void TamperedBodyIsInvalid() =>
        Assert.Equal(SignatureResult.Invalid, SlackSignature.Verify(Secret, Timestamp, DocSignature, Encoding.UTF8.GetBytes(DocBody + "x"), s_at));

    [Theory]
    [InlineData(299, "Valid")]
    [InlineData(-299, "Valid")]
    [InlineData(301, "Stale")]
    [InlineData(-301, "Stale")]
    public void TimestampsMoreThanFiveMinutesAwayInEitherDirectionAreStale(int offsetSeconds, string expected) =>
        Assert.Equal(Enum.Parse<SignatureResult>(expected), SlackSignature.Verify(Secret, Timestamp, DocSignature, Encoding.UTF8.GetBytes(DocBody), s_at.AddSeconds(offsetSeconds)));

    [Theory]
    [InlineData(null, DocSignature, "Missing")]
    [InlineData(Timestamp, null, "Missing")]
    [InlineData("not-a-number", DocSignature, "Stale")]
    [InlineData(Timestamp, "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "Invalid")]
    [InlineData(Timestamp, "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503", "Invalid")]
    [InlineData(Timestamp, "v0=a2114d57", "Invalid")]
    public void MalformedHeadersAreRefused(string? timestamp, string? signature, string expected) =>
        Assert.Equal(Enum.Parse<SignatureResult>(expected), SlackSignature.Verify(Secret, timestamp, signature, Encoding.UTF8.GetBytes(DocBody), s_at));
}
