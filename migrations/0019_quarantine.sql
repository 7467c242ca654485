-- Docker objects of this deployment whose cluster this database does not know (restored from an older backup,
-- or a row lost some other way): stopped and kept, never removed on sight. An admin removes them
-- (`clusterbot orphans remove`), or the reconciler does once remove_after (ORPHAN_KEEP_DAYS) has passed; a cluster
-- row that turns up again releases them.
CREATE TABLE "quarantined_clusters" (
	"cluster_id" uuid PRIMARY KEY NOT NULL,
	"cluster_name" text,
	"owner" text,
	"hosts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"objects" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"quarantined_at" timestamp with time zone DEFAULT now() NOT NULL,
	"remove_after" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"ended_how" text,
	"ended_by" text
);
