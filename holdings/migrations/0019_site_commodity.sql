-- A site set up before it had a commodity mines BTC, unless every pool account at it mines
-- one other coin: then it mines that coin.
UPDATE holdings_site AS site
   SET commodity_id = mined.commodity_id
  FROM (SELECT site_id, min(commodity_id) AS commodity_id
          FROM holdings_poolaccount
         WHERE site_id IS NOT NULL
         GROUP BY site_id
        HAVING count(DISTINCT commodity_id) = 1) AS mined
 WHERE mined.site_id = site.id
   AND mined.commodity_id <> site.commodity_id;
