ALTER TABLE "clusters" ADD COLUMN "nodes" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "reserved_cpus" real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "reserved_memory_mib" integer DEFAULT 0 NOT NULL;