-- Email channel confirmation (prisma/schema.prisma, model NotificationChannel): mail goes only to
-- an address its owner confirmed through a mailed link. Existing email channels start unconfirmed:
-- their addresses were never confirmed, which is the finding this closes.
ALTER TABLE "notification_channels" ADD COLUMN     "email_confirmed_address" TEXT,
ADD COLUMN     "email_pending_address" TEXT,
ADD COLUMN     "email_token_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "email_token_hash" TEXT,
ADD COLUMN     "email_token_sent_at" TIMESTAMPTZ(3);

CREATE UNIQUE INDEX "notification_channels_email_token_hash_key" ON "notification_channels"("email_token_hash");
