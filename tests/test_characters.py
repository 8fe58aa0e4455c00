from collections import Counter

from rectbot.retrieval.characters import character_scores, question_characters


def test_a_character_every_candidate_holds_counts_less_than_one_that_tells_them_apart() -> None:
    # 分成几类: every candidate says 党支部; only one says 分类.
    texts = ["党支部按好中差分类定级", "党支部党支部党支部要抓好", "党支部工作要见效"]
    scores = character_scores(question_characters(["党支部", "分成"]), texts)
    assert scores[0] == 1.0 and scores[1] < scores[0] and scores[2] < scores[0]


def test_scores_are_taken_over_the_first_candidates_so_later_pages_do_not_move_them() -> None:
    characters = Counter("支部分类")
    first = ["支部分类定级", "支部整顿", "分类管理", "支部书记"]
    more = first + ["分类分类分类", "支部支部"] * 10
    assert character_scores(characters, more, among=4)[:4] == character_scores(characters, first)


def test_no_character_in_common_scores_nothing() -> None:
    assert character_scores(question_characters(["天气"]), ["村党支部", "第一书记"]) == [0.0, 0.0]
    assert question_characters(["how", "2024"]) == Counter()
