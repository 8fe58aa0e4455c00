"""The `rectbot` command, run as a user runs it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rectbot.bot.cli import main
from rectbot.retrieval.evaluation import load_questions
from tests.conftest import DEV_QUESTIONS, ROOT, SEEDS


@pytest.fixture
def env(seeded_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point rectbot at a private seeded database; returns that database."""
    database = seeded_dir / "rectbot.sqlite3"
    monkeypatch.setenv("RECTBOT_STORAGE_DATABASE", str(database))
    monkeypatch.delenv("RECTBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return database


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_ask_prints_excerpts_with_title_source_and_date(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "软弱涣散村党组织怎么整顿")
    hits = json.loads(run(capsys, "ask", "软弱涣散村党组织怎么整顿", "--json")[1])["hits"]
    assert status == 0 and len(hits) == 3 and "【4】" not in out
    for number, hit in enumerate(hits, 1):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", hit["date"]) and hit["title"] and hit["source"]
        assert f"【{number}】{hit['text']}\n    —— 《{hit['title']}》 · {hit['source']} · {hit['date']}" in out


def test_ask_json_has_the_documented_fields(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "村官回归工程", "--json", "--top", "2")
    assert status == 0
    answer = json.loads(out)
    assert answer["question"] == "村官回归工程"
    assert len(answer["hits"]) == 2
    assert {"text", "title", "source", "date", "doc_id", "score", "section", "matched_terms"} <= set(answer["hits"][0])


@pytest.mark.parametrize(("message", "reply"), [("谢谢你啊", "不客气"), ("謝謝，辛苦了", "不客气"), ("你好", "你好！")])
def test_ask_answers_small_talk_as_the_chats_do(env: Path, capsys, message: str, reply: str) -> None:
    # `rectbot ask 谢谢` said 这个问题不在我的资料范围内 where every chat said 不客气.
    status, out, _ = run(capsys, "ask", message)
    assert status == 0 and out.startswith(reply) and "资料范围" not in out
    answer = json.loads(run(capsys, "ask", message, "--json")[1])
    assert answer["hits"] == [] and answer["related"] == []


def test_an_excerpt_from_a_page_that_states_nothing_is_cited_by_its_file(env: Path, capsys, tmp_path: Path) -> None:
    page = tmp_path / "王庄村雪橇夜校记录.txt"
    page.write_text("王庄村党支部开办雪橇夜校，每周三晚上组织党员学习，由第一书记讲授滑雪安全和冬季防火知识，"
                    "村民自愿参加，已经办了十二期，参加的党员和群众有三百多人次。\n", encoding="utf-8")
    assert run(capsys, "ingest", str(page))[0] == 0
    status, out, _ = run(capsys, "ask", "王庄村党支部怎么组织党员学习")
    answer = json.loads(run(capsys, "ask", "王庄村党支部怎么组织党员学习", "--json")[1])
    first = (answer["hits"] or answer["related"])[0]
    assert status == 0 and first["title"] is None and first["file_name"] == page.name
    assert f"（无标题，{page.name}） · 来源不详 · 日期不详" in out


def test_ask_reads_questions_from_standard_input(env: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("三会一课\n\n怎么炒股\n"))
    status, out, _ = run(capsys, "ask", "-", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [line["question"] for line in lines] == ["三会一课", "怎么炒股"]
    assert lines[0]["hits"] and lines[1]["hits"] == []


def test_ask_json_separates_confident_hits_from_possibly_related_excerpts(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "合作社分红", "--json")
    answer = json.loads(out)
    assert status == 0 and answer["confidence"] == "weak"
    assert answer["hits"] == [] and len(answer["related"]) == 3
    assert set(answer["related"][0]) == set(json.loads(run(capsys, "ask", "三会一课", "--json")[1])["hits"][0])


def test_ask_says_how_a_typo_was_read(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "第一书计怎么开展工作")
    assert status == 0 and "按“第一书记”查找（你输入的是“第一书计”）" in out
    status, out, _ = run(capsys, "ask", "第一书计怎么开展工作", "--json")
    assert json.loads(out)["searched_as"] == [{"typed": "第一书计", "searched": "第一书记"}]


def test_possibly_related_excerpts_are_marked_in_the_terminal(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "合作社分红")
    assert status == 0 and out.index("资料里没有直接回答，下面的内容可能相关") < out.index("【1】")
    assert "【3】" in out and "【4】" not in out


def test_a_question_over_the_limit_is_refused_in_the_chats_words(env: Path, capsys) -> None:
    status, _, err = run(capsys, "ask", "长" * 2001)
    assert status == 2 and "问题太长了（2001 字），请控制在 2000 字以内" in err


def test_nothing_found_is_an_answer_not_an_error(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "今天天气怎么样")
    assert status == 0
    assert "没有找到" in out and "【" not in out
    # As in chat: what the bot knows, so that a first-time user can ask something it can answer.
    assert "基层党建" in out and "第一书记" in out
    # ...but not to someone whose question was about the work: the reports lack the answer, not the subject.
    status, out, _ = run(capsys, "ask", "党员组织关系转接要开什么证明")
    assert status == 0 and "资料里没有找到" in out and "我只回答" not in out and "【" not in out


def test_a_question_with_no_chinese_is_asked_for_in_chinese(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "ask", "what does the first secretary do")
    assert status == 0 and "请用汉字" in out and "in Chinese" in out and "不在我的资料范围内" not in out


def test_empty_question_is_a_clear_error(env: Path, capsys) -> None:
    status, _, err = run(capsys, "ask", "  ")
    assert status == 2
    assert "empty" in err


def test_ingest_reports_each_file(env: Path, capsys, tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "report.txt").write_text("红色夜校\n\n时间：2020-05-06\n\n某某县开办红色夜校，共办夜校四十二期。\n", encoding="utf-8")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a document")
    shutil.copy(SEEDS / "000_63a0b89bf990acfb.txt", folder)
    status, out, _ = run(capsys, "ingest", str(folder))
    lines = out.splitlines()
    assert status == 0  # a photo in the folder is skipped, not a failure: every report was added
    assert any(line.startswith("added") and "report.txt" in line for line in lines)
    assert any(line.startswith("skipped") and "photo.jpg" in line and "unsupported" in line for line in lines)
    # The bundled seed's bytes in another folder: a second file, kept as a copy that names the first.
    assert any(line.startswith("added") and "same content as 000_63a0b89bf990acfb.txt" in line for line in lines)
    status, out, _ = run(capsys, "ask", "红色夜校", "--json")
    assert "四十二期" in json.loads(out)["hits"][0]["text"]


def test_ingest_of_a_missing_path_is_a_clear_error(env: Path, capsys) -> None:
    status, _, err = run(capsys, "ingest", "no/such/file.txt")
    assert status == 2 and "no such file" in err


def test_docs_json_lists_every_document(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "docs", "--json")
    documents = json.loads(out)
    assert status == 0
    assert {"id", "title", "date", "source", "author", "region", "sections", "passages"} <= set(documents[0])
    by_file = {d["file_name"]: d for d in documents}
    assert by_file["003_08f9d2bba28bd430.txt"]["sections"] == ["篇一", "篇二", "篇三"]


def test_reindex_reports_passages_and_time(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "reindex")
    reported = re.fullmatch(r"indexed (\d+) passages in \d+\.\d\d s\n", out)
    assert status == 0 and reported, out
    documents = json.loads(run(capsys, "docs", "--json")[1])
    assert int(reported[1]) == sum(doc["passages"] for doc in documents)


def test_eval_prints_the_metrics(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "eval", str(DEV_QUESTIONS))
    questions = load_questions(DEV_QUESTIONS)
    abstain = sum(question.kind == "abstain" for question in questions)
    [counts, *metrics] = out.splitlines()
    assert status == 0 and counts == f"questions: {len(questions) - abstain} answerable, {abstain} abstain"
    values = dict(line.rsplit(maxsplit=1) for line in metrics)
    assert list(values) == ["Hit@1", "Hit@3", "MRR@5", "paraphrase Hit@3", "Abstain"]
    assert all(re.fullmatch(r"[01]\.\d{3}", value) and float(value) <= 1 for value in values.values()), values


def test_a_bad_config_fails_at_start_up_naming_the_key(env: Path, capsys, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[search]\ntop = 3\n", encoding="utf-8")
    status, _, err = run(capsys, "ask", "三会一课", "--config", str(config))
    assert status == 2 and "search.top" in err


def test_chat_answers_more_and_context(env: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("第一书记\n更多\n上下文 1\n上下文 9\n帮助\n"))
    status, out, _ = run(capsys, "chat")
    _, answer, more, context, bad_number, help_text, end = out.split("\n> ")  # the greeting, a reply a line, EOF
    assert status == 0 and end == "\n"
    assert [n for n in range(1, 8) if f"【{n}】" in answer] == [1, 2, 3]
    assert [n for n in range(1, 8) if f"【{n}】" in more] == [4, 5, 6]  # 更多 continues the numbering
    first = answer.split("【1】")[1].split("\n")[0]
    assert f"【1】{first}" in context and context.index("【1】") > 0  # excerpt 1 among the passages around it
    assert "没有第 9 段" in bad_number
    assert "例如" in help_text


def test_the_installed_console_script_runs_on_a_fresh_database(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "rectbot"
    if not script.exists():
        pytest.skip("rectbot is not installed in this environment (pip install -e .)")
    env = {"RECTBOT_STORAGE_DATABASE": str(tmp_path / "db.sqlite3"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [str(script), "ask", "软弱涣散村党组织怎么整顿", "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["hits"]) == 3


def test_ingest_fails_when_a_named_file_is_rejected(env: Path, capsys, tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a document")
    status, out, _ = run(capsys, "ingest", str(tmp_path / "photo.jpg"))
    assert status == 1 and out.startswith("rejected")


def test_a_damaged_pdf_is_reported_once_in_our_words(env: Path, tmp_path: Path) -> None:
    # pypdf logged its own "EOF marker not found" (English, on standard error) before the line saying the file was
    # rejected, so an admin read two messages for one file. Run as the command runs, with its logging configured.
    (tmp_path / "坏.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\n")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from rectbot.bot.cli import main; sys.exit(main())",
         "ingest", str(tmp_path / "坏.pdf")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,  # the env fixture's database, inherited
    )
    assert done.returncode == 1 and done.stdout.strip() == "rejected  坏.pdf (corrupt .pdf file)"
    assert "EOF" not in done.stderr and "pypdf" not in done.stderr, done.stderr


def _ingest_tree(capsys, tmp_path: Path) -> dict[str, int]:
    for year, practice in (("2019", "红色夜校"), ("2020", "板凳会议")):
        (tmp_path / "tree" / year).mkdir(parents=True)
        (tmp_path / "tree" / year / "工作总结.txt").write_text(
            f"某某县{practice}工作总结\n\n时间：{year}-03-01\n\n某某县推行“{practice}”，整顿软弱涣散村党组织，共办四十二期。\n",
            encoding="utf-8",
        )
    status, out, _ = run(capsys, "ingest", str(tmp_path / "tree"))
    assert status == 0 and out.count("added") == 2
    _, out, _ = run(capsys, "docs", "--json")
    return {doc["path"]: doc["id"] for doc in json.loads(out)}


def test_remove_by_id_and_by_path_with_yes(env: Path, capsys, tmp_path: Path) -> None:
    def excerpts_of_the_tree() -> list[str]:
        answer = json.loads(run(capsys, "ask", "红色夜校 板凳会议", "--json")[1])
        return [hit["text"] for hit in answer["hits"] + answer["related"] if "四十二期" in hit["text"]]

    ids = _ingest_tree(capsys, tmp_path)
    assert len(excerpts_of_the_tree()) == 2
    status, out, _ = run(capsys, "remove", str(ids["2019/工作总结.txt"]), "2020/工作总结.txt", "--yes")
    assert status == 0 and "removed   2019/工作总结.txt" in out and "removed   2020/工作总结.txt" in out
    assert excerpts_of_the_tree() == []


def test_remove_by_the_file_or_folder_it_was_ingested_from(env: Path, capsys, tmp_path: Path) -> None:
    # A trial: `rectbot remove /path/to/edge/a/D001.txt --yes` said "no document or file".
    _ingest_tree(capsys, tmp_path)
    status, out, _ = run(capsys, "remove", str(tmp_path / "tree" / "2019" / "工作总结.txt"), "--yes")
    assert status == 0 and "removed   2019/工作总结.txt" in out and "2020" not in out
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "工作总结.txt").write_text((tmp_path / "tree" / "2020" / "工作总结.txt").read_text(
        encoding="utf-8").replace("板凳会议", "院坝会"), encoding="utf-8")
    run(capsys, "ingest", str(tmp_path / "elsewhere"))
    status, out, _ = run(capsys, "remove", str(tmp_path / "tree"), "--yes")  # a folder: what came from inside it
    assert status == 0 and "removed   2020/工作总结.txt" in out and out.count("removed") == 1
    answer = json.loads(run(capsys, "ask", "院坝会 板凳会议", "--json")[1])
    assert [hit["text"] for hit in answer["hits"] + answer["related"] if "四十二期" in hit["text"]] == [
        "某某县推行“院坝会”，整顿软弱涣散村党组织，共办四十二期。"
    ], answer
    status, _, err = run(capsys, "remove", str(tmp_path / "nowhere.txt"), "--yes")
    assert status == 2 and "nowhere.txt" in err



def test_remove_by_a_relative_path_on_disk_removes_that_file_not_another_of_its_stored_name(
    env: Path, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: in folder a/, `rectbot remove D001.txt` removed pages/'s D001.txt, stored under that name.
    for folder, practice in (("pages", "红色夜校"), ("a", "板凳会议")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "D001.txt").write_text(
            f"某某县{practice}\n\n某某县推行“{practice}”，整顿软弱涣散村党组织，共办四十二期。\n", encoding="utf-8")
        run(capsys, "ingest", str(tmp_path / folder))
    monkeypatch.chdir(tmp_path / "a")
    status, out, _ = run(capsys, "remove", "D001.txt", "--yes")
    assert status == 0 and "removed   a/D001.txt" in out and out.count("removed") == 1


def test_remove_asks_on_a_terminal_and_refuses_without_one(env: Path, capsys, tmp_path: Path, monkeypatch) -> None:
    ids = _ingest_tree(capsys, tmp_path)
    target = str(ids["2019/工作总结.txt"])
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    status, _, err = run(capsys, "remove", target)
    assert status == 2 and "--yes" in err  # standard input is not a terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    status, out, _ = run(capsys, "remove", target)
    assert status == 1 and "nothing was removed" in out
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    status, out, _ = run(capsys, "remove", target)
    assert status == 0 and "removed   2019/工作总结.txt" in out
    status, _, err = run(capsys, "remove", target, "--yes")
    assert status == 2 and "nothing was removed" in err  # it is gone: a clear error, not a silent success


def test_docs_filters_by_region_date_and_words(env: Path, capsys, tmp_path: Path) -> None:
    _ingest_tree(capsys, tmp_path)
    _, out, _ = run(capsys, "docs", "--json", "--search", "板凳会议")
    assert [doc["path"] for doc in json.loads(out)] == ["2020/工作总结.txt"]
    _, out, _ = run(capsys, "docs", "--json", "--since", "2020-01")
    found = json.loads(out)
    assert "2020/工作总结.txt" in {doc["path"] for doc in found}
    assert all(doc["date"] and doc["date"][:4] >= "2020" for doc in found)
    _, out, _ = run(capsys, "docs", "--json", "--region", "沙坡头")
    assert {doc["file_name"] for doc in json.loads(out)} == {"001_b8f8782c178d3bd0.txt"}
    with pytest.raises(SystemExit) as exit_:
        main(["docs", "--since", "last year"])
    assert exit_.value.code == 2 and "YYYY" in capsys.readouterr().err


def cli_process(database: Path, cwd: Path, *args: str | bytes, locale: str | None = None, **popen) -> subprocess.Popen:
    """`python -m bot.cli ARGS` as its own process, importing this checkout, on a private database."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RECTBOT_", "LC_", "PYTHONIOENCODING"))},
        "RECTBOT_STORAGE_DATABASE": str(database),
        "PYTHONPATH": str(ROOT),
        **({"LC_ALL": locale} if locale else {}),
    }
    return subprocess.Popen([sys.executable, "-m", "rectbot.bot.cli", *args], cwd=cwd, env=environment, **popen)


def test_ask_answers_a_question_holding_bytes_that_are_not_utf8(env: Path, tmp_path: Path, capsys) -> None:
    # Python turns an invalid byte in the arguments into a lone surrogate, which OpenCC and UTF-8 refuse.
    question = "软弱涣散村党组织".encode() + b"\xff" + "怎么整顿".encode()
    for extra in ([], ["--json"]):
        process = cli_process(env, tmp_path, "ask", question, *extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode(errors="replace")
        assert out.decode() == run(capsys, "ask", "软弱涣散村党组织怎么整顿", *extra)[1]  # as if the byte were not there


def test_ask_from_standard_input_answers_every_line_even_after_a_broken_one(env: Path, tmp_path: Path) -> None:
    lines = ["三会一课".encode(), "软弱涣散".encode() + b"\xff\xfe\x01" + "村党组织怎么整顿".encode(), "第一书记".encode()]
    process = cli_process(env, tmp_path, "ask", "-", "--json", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    out, err = process.communicate(b"\n".join(lines) + b"\n", timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    answers = [json.loads(line) for line in out.decode().splitlines()]
    assert [a["question"] for a in answers] == ["三会一课", "软弱涣散村党组织怎么整顿", "第一书记"]
    assert all(len(a["hits"]) == 3 for a in answers)


def test_ask_from_standard_input_splits_questions_only_at_newlines(env: Path, capsys, monkeypatch) -> None:
    separators = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"三会一课{separators}第一书记\r\n怎么炒股\n"))
    status, out, _ = run(capsys, "ask", "-", "--json")
    questions = [json.loads(line)["question"] for line in out.split("\n") if line]  # U+2028 stays inside JSON
    assert status == 0 and len(questions) == 2
    assert questions[0].startswith("三会一课") and questions[0].endswith("第一书记") and questions[1] == "怎么炒股"


def test_ask_piped_into_a_reader_that_stops_early_exits_quietly(env: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("软弱涣散村党组织怎么整顿\n第一书记\n三会一课\n村两委\n" * 10, encoding="utf-8")
    with questions.open("rb") as stdin:
        rectbot = cli_process(env, tmp_path, "ask", "-", "--json", stdin=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        head = subprocess.Popen(["head", "-n", "1"], stdin=rectbot.stdout, stdout=subprocess.PIPE)
        rectbot.stdout.close()  # only head reads it now
        first, _ = head.communicate(timeout=120)
        err = rectbot.stderr.read().decode()
        rectbot.wait(timeout=60)
    assert json.loads(first)["question"] == "软弱涣散村党组织怎么整顿"
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert rectbot.returncode == 141  # as a shell reports a program stopped by SIGPIPE (`yes | head`)


def test_chat_goes_on_after_a_line_that_is_not_utf8(env: Path, tmp_path: Path, capsys) -> None:
    # Python reads an undecodable byte as a lone surrogate, which used to end the chat with a traceback.
    process = cli_process(env, tmp_path, "chat", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          locale="C.UTF-8")
    lines = b"\xff\xfe" + "第一书记".encode() + b"\n" + "帮助\n".encode()
    out, err = process.communicate(lines, timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    best = json.loads(run(capsys, "ask", "第一书记", "--json")[1])["hits"][0]["text"]
    assert out.decode().count("【1】") == 1 and f"【1】{best}" in out.decode()  # answered as 第一书记
    assert "例如" in out.decode()  # and the chat went on to the next line


def test_ask_loads_no_chat_channel_and_help_no_search_library(env: Path, tmp_path: Path) -> None:
    script = ("import sys\nfrom rectbot.bot.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print('MODULES', *sorted({name.split('.')[0] for name in sys.modules} | set(sys.modules)))")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")},
        "RECTBOT_STORAGE_DATABASE": str(env),
        "PYTHONPATH": str(ROOT),
    }

    def modules_after(*args: str) -> set[str]:
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=tmp_path,
                              env=environment, timeout=120)
        return set(done.stdout.splitlines()[-1].split()[1:])

    channels = {"telegram", "starlette", "uvicorn", "httpx"}
    search = {"numpy", "scipy", "bm25s", "rjieba", "jieba", "pypinyin", "bs4", "aiosqlite"}
    assert modules_after("--help") & (channels | search) == set()
    asked = modules_after("ask", "第一书记怎么开展工作")
    assert {"rjieba", "numpy"} <= asked  # it did search
    assert asked & channels == set()
    assert asked & {"jieba", "pypinyin"} == set()  # the reference segmenter, and pinyin for a question without a typo
    assert asked & {"numba", "llvmlite"} == set()  # 1 s and 130 MB to load: the compiled loops are for servers
    # Nor the document readers, which compile many patterns on import (0.1 s): only ingesting needs them.
    assert asked & {"rectbot.retrieval.documents", "rectbot.retrieval.formats", "rectbot.retrieval.cleaning"} == set()


@pytest.mark.parametrize("command", [["ask", "三会一课"], ["docs"]])
def test_a_bad_log_level_is_a_usage_error_naming_the_choices(env: Path, capsys, command: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:  # it was a ValueError traceback from logging
        main([*command, "--log-level", "LOUD"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert "--log-level: invalid choice: 'LOUD' (choose from 'DEBUG', 'INFO', 'WARNING', 'ERROR')" in err


def test_the_log_level_may_be_written_in_lower_case(env: Path, capsys) -> None:
    status, out, _ = run(capsys, "docs", "--log-level", "error")
    assert status == 0 and "#1 " in out


def test_an_unknown_rectbot_variable_stops_start_up_naming_it(env: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RECTBOT_SEARCH_TOPK", "5")  # was silently ignored, as a typo in a service file would be
    status, out, err = run(capsys, "ask", "三会一课")
    assert status == 2 and out == ""
    assert err.startswith("rectbot: unknown environment variable $RECTBOT_SEARCH_TOPK;") and "$RECTBOT_SEARCH_TOP_K" in err


def test_ask_shows_as_many_excerpts_as_the_config_says_unless_top_is_given(env: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RECTBOT_SEARCH_TOP_K", "2")
    _, out, _ = run(capsys, "ask", "软弱涣散村党组织怎么整顿", "--json")
    assert len(json.loads(out)["hits"]) == 2
    _, out, _ = run(capsys, "ask", "软弱涣散村党组织怎么整顿", "--json", "--top", "4")
    assert len(json.loads(out)["hits"]) == 4


def test_a_passage_size_the_library_refuses_stops_start_up_without_a_traceback(env: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RECTBOT_PASSAGES_TARGET_CHARS", "40")
    monkeypatch.setenv("RECTBOT_PASSAGES_MAX_CHARS", "60")
    status, _, err = run(capsys, "reindex")
    assert status == 2 and "config section [passages]: max_chars (60) must be at least twice min_chars (40)" in err


def test_ask_names_the_questions_of_a_message_asking_several_things(env: Path, capsys) -> None:
    message = "我们村账目好几年没公开。软弱涣散村党组织怎么整顿？第一书记驻村一般要干多长时间？"
    status, out, _ = run(capsys, "ask", message)
    assert status == 0 and out.startswith("你的消息里有 2 个问题")
    status, out, _ = run(capsys, "ask", message, "--json")
    assert json.loads(out)["questions"] == ["软弱涣散村党组织怎么整顿？", "第一书记驻村一般要干多长时间？"]
    assert json.loads(run(capsys, "ask", "第一书记怎么开展工作", "--json")[1])["questions"] == []
