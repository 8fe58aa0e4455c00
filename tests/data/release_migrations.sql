-- The store's named migrations as release c907642 (retrieval/store.py) applied them, in order.
-- Tests build a database as an older release left it from these. Never edit: a release ran them.
-- migration: 001_documents_and_passages
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    encoding TEXT,
    size INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX files_content_hash ON files(content_hash);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
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
CREATE INDEX documents_text_hash ON documents(text_hash);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    section TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX passages_document ON passages(document_id, position);

-- migration: 002_questions_feedback_conversations
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
);
CREATE INDEX questions_asked_at ON questions(asked_at);
CREATE TABLE feedback (
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at TEXT NOT NULL,
    PRIMARY KEY (question_id, user_id)
);
CREATE TABLE conversations (
    channel TEXT NOT NULL,
    conversation TEXT NOT NULL,
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    PRIMARY KEY (channel, conversation)
);
CREATE TABLE seen_messages (
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (channel, message_id)
);

-- migration: 003_never_reuse_document_and_passage_ids
CREATE TABLE documents_new (
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
INSERT INTO documents_new SELECT * FROM documents;
CREATE TABLE passages_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    section TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
);
INSERT INTO passages_new SELECT * FROM passages;
DROP TABLE passages;
DROP TABLE documents;
ALTER TABLE documents_new RENAME TO documents;
ALTER TABLE passages_new RENAME TO passages;
CREATE INDEX documents_text_hash ON documents(text_hash);
CREATE INDEX passages_document ON passages(document_id, position);

-- migration: 004_files_by_path_and_removals
CREATE TABLE files_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    encoding TEXT,
    size INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
INSERT INTO files_new (id, path, file_name, content_hash, encoding, size, ingested_at)
    SELECT id, file_name, file_name, content_hash, encoding, size, ingested_at FROM files;
DROP TABLE files;
ALTER TABLE files_new RENAME TO files;
CREATE INDEX files_content_hash ON files(content_hash);
CREATE TABLE removals (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    titles TEXT NOT NULL,
    removed_by TEXT NOT NULL,
    removed_at TEXT NOT NULL
);

-- migration: 005_private_answers
ALTER TABLE questions ADD COLUMN owner TEXT;
ALTER TABLE questions ADD COLUMN token TEXT;

-- migration: 006_document_lookups
CREATE INDEX IF NOT EXISTS documents_file ON documents(file_id);
CREATE INDEX IF NOT EXISTS documents_copies ON documents(duplicate_of);
