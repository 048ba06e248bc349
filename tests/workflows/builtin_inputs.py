"""The AI services' answers as a StartHumanLoop of a built-in review carries them (the human
loop input: aiServiceRequest and aiServiceResponse), built for tests."""


def word(block_id, text, confidence):
    return {"BlockType": "WORD", "Id": block_id, "Text": text, "Confidence": confidence}


def pair(index, key, value, key_confidence, value_confidence, word_confidence=99.0):
    key_words = [word(f"kw{index}", key, word_confidence)]
    value_words = [word(f"vw{index}", value, 99.0)]
    box = {"Width": 0.2, "Height": 0.04, "Left": 0.1, "Top": 0.1 * index}
    return [
        {
            "BlockType": "KEY_VALUE_SET",
            "Id": f"k{index}",
            "EntityTypes": ["KEY"],
            "Confidence": key_confidence,
            "Geometry": {"BoundingBox": box},
            "Relationships": [
                {"Type": "VALUE", "Ids": [f"v{index}"]},
                {"Type": "CHILD", "Ids": [f"kw{index}"]},
            ],
        },
        {
            "BlockType": "KEY_VALUE_SET",
            "Id": f"v{index}",
            "EntityTypes": ["VALUE"],
            "Confidence": value_confidence,
            "Geometry": {"BoundingBox": {**box, "Left": 0.4}},
            "Relationships": [{"Type": "CHILD", "Ids": [f"vw{index}"]}],
        },
        *key_words,
        *value_words,
    ]


def textract_input(*pairs_blocks):
    blocks = [block for blocks in pairs_blocks for block in blocks]
    return {
        "aiServiceRequest": {
            "Document": {"S3Object": {"Bucket": "docs", "Name": "invoice.png"}},
            "FeatureTypes": ["FORMS"],
        },
        "aiServiceResponse": {"Blocks": [{"BlockType": "PAGE", "Id": "p"}, *blocks]},
    }


def moderation_input(*labels):
    return {
        "aiServiceRequest": {"image": {"s3Object": {"bucket": "pics", "name": "a.jpg"}}},
        "aiServiceResponse": {
            "moderationLabels": [
                {"name": name, "parentName": parent, "confidence": confidence}
                for name, parent, confidence in labels
            ]
        },
    }


def answer_blocks(*pairs):
    """A reviewer's answer blocks: ``(key, value, value_box or None)`` per pair."""
    blocks = []
    for index, (key, value, box) in enumerate(pairs, start=1):
        value_block = {
            "blockType": "KEY_VALUE_SET",
            "id": f"v{index}",
            "entityTypes": ["VALUE"],
            "text": value,
        }
        if box:
            left, top, width, height = box
            value_block["geometry"] = {
                "boundingBox": {"left": left, "top": top, "width": width, "height": height}
            }
        blocks.append(
            {
                "blockType": "KEY_VALUE_SET",
                "id": f"k{index}",
                "entityTypes": ["KEY"],
                "text": key,
                "relationships": [{"type": "VALUE", "ids": [f"v{index}"]}],
            }
        )
        blocks.append(value_block)
    return {"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": blocks}}
