#!/usr/bin/env python3
"""Extract the fields of the models the loader decodes from the official Genesys Cloud Python SDK.

Writes tests/fixtures/sdk_models.json: for each model the loader decodes (the Analytics*
conversation-detail models, the dimension entities, the aggregates' StatisticalSummary, the
quality evaluation and form models and recording metadata),
its JSON field names, SDK types and descriptions. The SDK is read as data, never imported, and
is not a runtime dependency. Usage:

    pip download --no-deps -d /tmp/sdk 'purecloudplatformclientv2==269.0.0'
    python3 scripts/sdk_fields.py /tmp/sdk/purecloudplatformclientv2-269.0.0-py3-none-any.whl
"""
import json
import re
import sys
import zipfile

MODELS = [
    "AnalyticsConversation", "AnalyticsConversationWithoutAttributes", "AnalyticsParticipant",
    "AnalyticsParticipantWithoutAttributes", "AnalyticsSession", "AnalyticsConversationSegment",
    "AnalyticsSessionMetric", "AnalyticsFlow", "AnalyticsFlowOutcome", "AnalyticsMediaEndpointStat",
    "AnalyticsAgentGroup", "AnalyticsProposedAgent", "AnalyticsScoredAgent", "AnalyticsProperty",
    "AnalyticsEvaluation", "AnalyticsSurvey", "AnalyticsResolution", "AuthzDivision",
    "User", "Queue", "WrapupCode", "RoutingSkill", "Language", "Group", "Team", "StatisticalSummary",
    "EvaluationResponse", "EvaluationSearchItemResponse", "EvaluationScoringSet",
    "EvaluationQuestionGroupScore", "EvaluationQuestionScore", "EvaluationFormResponse",
    "EvaluationQuestionGroup", "EvaluationQuestion", "AnswerOption", "RecordingMetadata", "Annotation",
]
BOILERPLATE = re.compile(r"\s*Date time is represented as an ISO-8601 string\..*$")


def parse(src):
    cls = re.search(r"^class (\w+)", src, re.M)
    if cls is None or "self.swagger_types = {" not in src:
        return None, []
    cls = cls.group(1)
    types = dict(re.findall(r"'(\w+)':\s*'([^']+)'", re.search(r"self\.swagger_types = \{(.*?)\}", src, re.S).group(1)))
    names = dict(re.findall(r"'(\w+)':\s*'([^']+)'", re.search(r"self\.attribute_map = \{(.*?)\}", src, re.S).group(1)))
    fields = []
    for attr, typ in types.items():
        doc = re.search(r"def %s\(self\)[^:]*:\s*\"\"\"\s*Gets the \w+ of this \w+\.\n\s*([^:\s].*?)\n\s*\n" % attr, src, re.S)
        text = BOILERPLATE.sub("", " ".join(doc.group(1).split())) if doc else ""
        fields.append({"name": names[attr], "type": typ, "description": text})
    return cls, fields


def main(wheel):
    out = {}
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if n.startswith("PureCloudPlatformClientV2/models/") and n.endswith(".py") and "/__" not in n:
                cls, fields = parse(z.read(n).decode())
                if cls in MODELS:
                    out[cls] = fields
    missing = set(MODELS) - set(out)
    if missing:
        sys.exit(f"models not found in {wheel}: {sorted(missing)}")
    version = re.search(r"-(\d+\.\d+\.\d+)-", wheel)
    doc = {"sdk": "purecloudplatformclientv2", "version": version.group(1) if version else None,
           "models": {m: out[m] for m in MODELS}}
    with open("tests/fixtures/sdk_models.json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
