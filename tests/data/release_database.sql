-- A database as release c907642 wrote it through Store: two copies of one report, a removed upload,
-- three logged questions (one paged with 更多, one in a group), votes and a seen WeCom message id.
BEGIN TRANSACTION;
CREATE TABLE conversations (
            channel TEXT NOT NULL,
            conversation TEXT NOT NULL,
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            PRIMARY KEY (channel, conversation)
        );
INSERT INTO "conversations" VALUES('telegram','1001',1);
INSERT INTO "conversations" VALUES('telegram','-500/1002',2);
INSERT INTO "conversations" VALUES('wecom','zhangsan',3);
CREATE TABLE "documents" (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            title TEXT,
            date TEXT,
            source TEXT,
            author TEXT,
            region TEXT,
            sections TEXT NOT NULL,
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            duplicate_of INTEGER REFERENCES documents(id) ON DELETE SET NULL
        );
INSERT INTO "documents" VALUES(1,1,0,'红色夜校','2021-05','人民网',NULL,'某某县','[]','某某县开办红色夜校，共办夜校四十二期。
参加党员一千二百人次。','红色夜校',NULL);
INSERT INTO "documents" VALUES(2,2,0,'红色夜校','2021-05','人民网',NULL,'某某县','[]','某某县开办红色夜校，共办夜校四十二期。
参加党员一千二百人次。','红色夜校',1);
CREATE TABLE feedback (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            voted_at TEXT NOT NULL,
            PRIMARY KEY (question_id, user_id)
        );
INSERT INTO "feedback" VALUES(1,'1001',1,'2026-11-29T01:01:26+00:00');
INSERT INTO "feedback" VALUES(2,'1002',1,'2026-11-29T01:01:26+00:00');
INSERT INTO "feedback" VALUES(2,'1003',-1,'2026-11-29T01:01:26+00:00');
CREATE TABLE "files" (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL UNIQUE,
            file_name TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            encoding TEXT,
            size INTEGER NOT NULL,
            ingested_at TEXT NOT NULL
        );
INSERT INTO "files" VALUES(1,'2021/红色夜校.txt','红色夜校.txt','h1','utf-8',120,'2026-11-29T01:01:26+00:00');
INSERT INTO "files" VALUES(2,'转载/红色夜校.txt','红色夜校.txt','h2','utf-8',120,'2026-11-29T01:01:26+00:00');
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('corpus_id','acff637cc3644c24a2275b892792c264');
INSERT INTO "meta" VALUES('passage_params','p1');
INSERT INTO "meta" VALUES('generation','4');
CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
INSERT INTO "migrations" VALUES('001_documents_and_passages','2026-11-29T01:01:26+00:00');
INSERT INTO "migrations" VALUES('002_questions_feedback_conversations','2026-11-29T01:01:26+00:00');
INSERT INTO "migrations" VALUES('003_never_reuse_document_and_passage_ids','2026-11-29T01:01:26+00:00');
INSERT INTO "migrations" VALUES('004_files_by_path_and_removals','2026-11-29T01:01:26+00:00');
INSERT INTO "migrations" VALUES('005_private_answers','2026-11-29T01:01:26+00:00');
INSERT INTO "migrations" VALUES('006_document_lookups','2026-11-29T01:01:26+00:00');
CREATE TABLE "passages" (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            section TEXT,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            text TEXT NOT NULL
        );
INSERT INTO "passages" VALUES(1,1,0,NULL,0,19,'某某县开办红色夜校，共办夜校四十二期。');
INSERT INTO "passages" VALUES(2,1,1,NULL,20,31,'参加党员一千二百人次。');
INSERT INTO "passages" VALUES(3,2,0,NULL,0,19,'某某县开办红色夜校，共办夜校四十二期。');
INSERT INTO "passages" VALUES(4,2,1,NULL,20,31,'参加党员一千二百人次。');
CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            asked_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            chat_type TEXT NOT NULL,
            question TEXT NOT NULL,
            hits INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            shown TEXT NOT NULL
        , owner TEXT, token TEXT);
INSERT INTO "questions" VALUES(1,'2026-11-29T01:01:26+00:00','telegram','1001','private','红色夜校怎么办',1,12.5,'[1, 2]','user:1001','tok-first-12');
INSERT INTO "questions" VALUES(2,'2026-11-29T01:01:26+00:00','telegram','1002','supergroup','夜校',1,8.0,'[1]','chat:-500','tok-group-12');
INSERT INTO "questions" VALUES(3,'2026-11-29T01:01:26+00:00','wecom','zhangsan','app','高铁票',0,3.0,'[]','user:zhangsan','tok-wecom-12');
CREATE TABLE removals (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            titles TEXT NOT NULL,
            removed_by TEXT NOT NULL,
            removed_at TEXT NOT NULL
        );
INSERT INTO "removals" VALUES(1,'telegram/42/旧报告.txt','["旧报告"]','telegram:42','2026-11-29T01:01:26+00:00');
CREATE TABLE seen_messages (
            channel TEXT NOT NULL,
            message_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (channel, message_id)
        );
INSERT INTO "seen_messages" VALUES('wecom','7000000001','2026-11-29T01:01:26+00:00');
CREATE INDEX questions_asked_at ON questions(asked_at);
CREATE INDEX documents_text_hash ON documents(text_hash);
CREATE INDEX passages_document ON passages(document_id, position);
CREATE INDEX files_content_hash ON files(content_hash);
CREATE INDEX documents_file ON documents(file_id);
CREATE INDEX documents_copies ON documents(duplicate_of);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('documents',3);
INSERT INTO "sqlite_sequence" VALUES('passages',5);
INSERT INTO "sqlite_sequence" VALUES('files',3);
COMMIT;
